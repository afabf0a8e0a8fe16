"""The two policies for status counters (favourites_count, reblogs_count,
replies_count; ports/counters.py), chosen by ``Settings.counter_policy``.

transactional (the default, the embedded shape): the repository moves the counter in
the transaction of the relation row it counts, and the cached status is dropped
after the commit. Exact at every commit; nothing to lose.

write_back (the cluster shape, Redis): the relation row still commits in the
database at once, but its counter becomes a delta in Redis (one HINCRBY, no update
of the status's row: a viral status is a hot row otherwise, every favourite queued
on its lock). A flusher applies the deltas in batches of ``counter_flush_batch``
every ``counter_flush_interval_seconds``, one transaction per shard. Readers see
database value + delta still in Redis, so a count is visible at once.

LOSS WINDOW (write_back): the deltas in Redis that no flusher has committed yet. If
Redis loses its memory (restart without persistence, FLUSHALL, failover to a replica
behind), at most the increments of the last ``counter_flush_interval_seconds``
(plus one batch being applied) are lost from the counters - never a favourite,
reblog or reply row, which committed in the database first. ``recount`` (a reconcile
from those rows) repairs the counters exactly. A flusher killed between its commit
and dropping its batch makes the next one apply that batch again (a count too
high, repaired the same way). A clean shutdown (``close``) flushes everything.
Readers may count a batch twice for the moment between the flusher's commit and its
dropping the batch in Redis (milliseconds; the database itself is exact).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Sequence

from roost.domain.entities import Status
from roost.domain.versions import stamp
from roost.errors import RoostError, Unavailable
from roost.ports.cache import Cache
from roost.ports.counters import PendingDeltas, StatusCounter, StatusCounterPolicy
from roost.ports.database import ShardedDatabase
from roost.ports.statuses import StatusCounts
from roost.services.context import Backends
from roost.tasks import cancel_and_wait

log = logging.getLogger(__name__)

TRANSACTIONAL = "transactional"
WRITE_BACK = "write_back"
POLICIES = (TRANSACTIONAL, WRITE_BACK)


def counter_policy(backends: Backends) -> StatusCounterPolicy:
    """The policy the backends were opened with (transactional unless one was set)."""
    if backends.counters is None:
        backends.counters = TransactionalCounters(backends.cache)
    return backends.counters


class TransactionalCounters:
    in_transaction = True

    def __init__(self, cache: Cache) -> None:
        self._cache = cache

    async def changed(self, status_id: int, counter: StatusCounter, delta: int) -> None:
        await self._cache.delete_records("s", status_id)  # its counter moved with the row

    async def overlay(self, statuses: dict[int, Status]) -> dict[int, Status]:
        return statuses

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        return None


class WriteBackCounters:
    in_transaction = False

    def __init__(self, deltas: PendingDeltas, counts: StatusCounts, db: ShardedDatabase, cache: Cache, *,
                 interval: float, batch: int) -> None:
        self._deltas = deltas
        self._counts = counts
        self._db = db
        self._cache = cache
        self._interval = interval
        self._batch = batch
        self._task: asyncio.Task[None] | None = None
        self.flushed = 0  # deltas this process applied (a metric)

    async def changed(self, status_id: int, counter: StatusCounter, delta: int) -> None:
        try:
            await self._deltas.add(status_id, counter, delta)
        except Unavailable:
            # Redis is out of reach: the counter goes to the database now instead (as
            # the transactional policy would have), so nothing waits in a store that
            # may have lost it.
            async with self._db.for_id(status_id).transaction() as tx:
                await self._counts.add(tx, {(status_id, counter): delta})
            await self._cache.delete_records("s", status_id)

    async def overlay(self, statuses: dict[int, Status]) -> dict[int, Status]:
        if not statuses:
            return statuses
        for status_id, deltas in (await self._deltas.pending(list(statuses))).items():
            status = statuses[status_id]
            moved = {c: max(0, getattr(status, c) + d) for c, d in deltas.items()}
            fresh = dataclasses.replace(status, **moved)
            stamp(fresh)  # memos compare versions: the counts moved, so must the version
            statuses[status_id] = fresh
        return statuses

    async def flush_once(self) -> int | None:
        """Apply one batch; how many deltas it held (0: nothing pending; None: another
        process's flusher holds the lease)."""
        taken = await self._deltas.take(self._batch)
        if not taken:
            return None if taken is None else 0
        by_shard: dict[int, dict[tuple[int, StatusCounter], int]] = {}
        for key, delta in taken.items():
            by_shard.setdefault(self._db.shard_map.physical_for_id(key[0]), {})[key] = delta
        for physical, deltas in by_shard.items():
            async with self._db.shards[physical].transaction() as tx:
                await self._counts.add(tx, deltas)
        # The cached statuses hold the old database values: drop them before the batch
        # leaves Redis, so no reader sees the batch neither in one nor the other.
        await self._cache.delete_records("s", *{status_id for status_id, _ in taken})
        await self._deltas.done()
        self.flushed += len(taken)
        return len(taken)

    async def flush_all(self) -> None:
        """Apply every pending delta (waiting its turn while another process flushes)."""
        while (applied := await self.flush_once()) != 0:
            if applied is None:
                await asyncio.sleep(min(self._interval, 0.05))

    async def recount(self, status_ids: Sequence[int] | None = None) -> list[int]:
        """The reconcile job: set the counters of these statuses (all when None) from
        their relation rows, and drop their deltas, which the rows already count.
        Exact when no interaction with them is in flight (run it after Redis lost its
        memory). Returns the ids whose counters it corrected."""
        await self._deltas.forget(status_ids)
        corrected = await self._counts.recount(status_ids)
        if corrected:
            await self._cache.delete_records("s", *corrected)
        return corrected

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="counters:flush")

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        try:
            await self.flush_all()
        except RoostError as error:
            # Redis (or the database) is out of reach: what is pending stays in Redis for
            # the next process's flusher, unless Redis lost it too (then: recount).
            log.warning("counters: could not flush at shutdown (%s); pending deltas stay in Redis", error)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                while (await self.flush_once() or 0) >= self._batch:
                    pass  # a full batch: more may be waiting
            except RoostError as error:  # a store is down: the next round retries
                log.warning("counters: flush failed (%s); retrying in %.1fs", error, self._interval)
