"""Record versions: what memos compare instead of object identity.

A record's version is a 63-bit digest of everything else in it, computed when
the record is read from its store. Equal versions mean equal records (up to a
2**-63 collision), whichever process or cache copy they come from, and any
write that changes a record - a counter included - gives it a new version,
whatever adapter made the write: no write path has to remember to bump it.
"""

from __future__ import annotations

import hashlib
from typing import Any, Protocol

import orjson


class Versioned(Protocol):
    version: int


def _plain(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"cannot version a {type(value).__name__}")


def digest(record: Versioned) -> int:
    """The version ``record`` should carry (never 0, which means "not versioned")."""
    saved, record.version = record.version, 0
    try:
        encoded = orjson.dumps(record, default=_plain)
    finally:
        record.version = saved
    value = int.from_bytes(hashlib.blake2b(encoded, digest_size=8).digest(), "big") >> 1
    return value or 1


def stamp(record: Versioned) -> None:
    """Give a record just read from its store its version."""
    record.version = digest(record)
