"""Status counters (favourites_count, reblogs_count, replies_count): the policy that
keeps them, and the store of pending deltas behind the write-back policy.

A relation row (a favourite, a reblog, a reply link) is always written to the
database in its own transaction; the policy decides where its counter moves:

- transactional (the embedded default): in that same transaction, by the repository;
- write-back (the cluster shape): as a delta in a shared store (Redis), applied to
  the database in batches by a flusher, read as database value + pending delta.

services/status_counters.py implements both; docs/CACHING.md states their windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from roost.domain.entities import Status

StatusCounter = Literal["favourites_count", "reblogs_count", "replies_count"]
STATUS_COUNTERS: tuple[StatusCounter, ...] = ("favourites_count", "reblogs_count", "replies_count")
# (status id, counter) -> delta
Deltas = Mapping[tuple[int, StatusCounter], int]


class StatusCounterPolicy(Protocol):
    # Whether the repositories move the counter in the relation row's own transaction
    # (the ``count`` argument of Favourites.add/remove, Reblogs.link/unlink, ThreadLinks.link/unlink).
    in_transaction: bool

    async def changed(self, status_id: int, counter: StatusCounter, delta: int) -> None:
        """After the commit of a relation row that moved ``counter`` by ``delta``."""
        ...

    async def overlay(self, statuses: dict[int, Status]) -> dict[int, Status]:
        """The statuses with their counters as readers should see them (changes in place
        and returns ``statuses``; a changed status is a new, re-versioned record)."""
        ...

    async def start(self) -> None: ...

    async def close(self) -> None:
        """Stop, after applying everything still pending (a clean shutdown loses nothing)."""
        ...


class PendingDeltas(Protocol):
    """Counter deltas not yet in the database, shared by every process (write-back)."""

    async def add(self, status_id: int, counter: StatusCounter, delta: int) -> None:
        """Raises ``Unavailable`` when the store cannot take it."""
        ...

    async def pending(self, status_ids: Sequence[int]) -> dict[int, dict[StatusCounter, int]]:
        """Deltas not yet applied (pending or in a batch being applied), by status; {}
        when the store cannot be read."""
        ...

    async def take(self, batch: int) -> dict[tuple[int, StatusCounter], int] | None:
        """Start applying a batch: up to ``batch`` deltas move from pending to this
        flusher's batch, or a batch a flusher left unfinished (it died) is handed over
        first. None when another flusher holds the lease; {} when nothing is pending."""
        ...

    async def done(self) -> None:
        """The batch from ``take`` is in the database: forget it and the lease."""
        ...

    async def forget(self, status_ids: Sequence[int] | None) -> None:
        """Drop every delta of these statuses (all when None): a recount made them moot."""
        ...
