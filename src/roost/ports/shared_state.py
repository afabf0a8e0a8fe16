"""State every roost process of one deployment shares (issue #9): never one process's memory.

The embedded adapters (adapters/embedded/shared_state.py) serve the one-process shape;
the Redis adapters (adapters/redis/) serve several processes on one Redis.
"""

from __future__ import annotations

from typing import Protocol


class CelebritySet(Protocol):
    """Accounts at or above the follower threshold: merged into home timelines at read
    time instead of being fanned out on write."""

    async def add(self, account_id: int) -> None: ...
    async def remove(self, account_id: int) -> bool:
        """True if it was a member."""
        ...
    async def contains(self, account_id: int) -> bool: ...
    async def members(self) -> frozenset[int]: ...
    async def replace(self, account_ids: set[int]) -> None:
        """Set the members wholesale (a recount from the database)."""
        ...


class WorkerIdLease(Protocol):
    """A worker id held by this process alone until released or lapsed (domain/ids.py)."""

    @property
    def worker_id(self) -> int: ...

    def held(self) -> bool:
        """True while the lease is certainly ours: checked before every id, without I/O."""
        ...

    async def release(self) -> None: ...


class WorkerIdLeases(Protocol):
    async def acquire(self) -> WorkerIdLease:
        """Lease a free worker id; raises NoWorkerIdFree when every one is held."""
        ...


class NoWorkerIdFree(RuntimeError):
    """Every worker id is leased by a live process: no more processes may mint ids."""


class RateLimitStore(Protocol):
    async def increment(self, key: str, window: int, window_seconds: int) -> int:
        """Count one hit on ``key`` in fixed window number ``window`` and return the count
        so far, atomically across processes; the count expires with its window."""
        ...
