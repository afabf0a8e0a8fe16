"""Refusing text no client means to send.

A NUL character (U+0000) in a status, a name or a bio is never intended: it is a
probe or a broken client. PostgreSQL (where Mastodon stores text) cannot hold one,
other clients truncate at it, and silently stripping it would change what the
sender signed off on. So roost answers 422 and stores nothing, both where the
gateway reads a parameter and where a service creates or changes a record.
"""

from __future__ import annotations

from roost.errors import Unprocessable

NUL = "\x00"


def refuse_nul(field: str, value: str) -> str:
    """``value`` unchanged, or a 422 naming ``field`` when it holds a NUL character."""
    if NUL in value:
        raise Unprocessable(f"Validation failed: {field} must not contain null bytes")
    return value


def refuse_nul_in(**fields: str | None) -> None:
    """The domain-level guard: every given text field, by name."""
    for field, value in fields.items():
        if value is not None:
            refuse_nul(field, value)
