"""Counters stored beside the rows they count (followers, statuses, favourites...)."""

from __future__ import annotations


def add_clamped(counter: str) -> str:
    """The SQL assignment that adds a delta to ``counter`` without going below zero.
    Binds the delta twice: pass ``(delta, delta)`` where it appears."""
    return f"{counter} = CASE WHEN {counter} + ? < 0 THEN 0 ELSE {counter} + ? END"
