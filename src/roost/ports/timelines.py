"""The timeline store port: capped, newest-first lists of status IDs per timeline key."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from roost.domain.pagination import Page


class TimelineStore(Protocol):
    async def push_many(self, entries: Iterable[tuple[str, int]]) -> None:
        """Insert (timeline, status id) pairs; idempotent; trims each list to its cap."""
        ...

    async def remove_many(self, entries: Iterable[tuple[str, int]]) -> None: ...
    async def flush(self) -> None:
        """Make every push and removal so far durable (stores may batch them until then)."""
        ...
    async def page(self, timeline: str, page: Page) -> list[int]:
        """IDs newest first, honouring max_id/since_id/min_id/limit."""
        ...

    async def page_if_built(self, timeline: str, page: Page) -> list[int] | None:
        """``page``'s IDs, or None for a timeline never built (or dropped): the read path's
        one call, so a store across the network answers it in one round trip."""
        ...

    async def exists(self, timeline: str) -> bool:
        """False for a timeline never built (or dropped), which the reader must rebuild."""
        ...

    async def replace(self, timeline: str, ids: Sequence[int]) -> None:
        """Rebuild a timeline wholesale (cold start)."""
        ...

    async def warm(self) -> int:
        """Bring the lists last in use back into fast storage after a restart (a store
        that keeps nothing in process memory has nothing to do); returns how many."""
        ...

    async def close(self) -> None: ...
