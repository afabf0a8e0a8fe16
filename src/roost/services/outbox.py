"""The transactional outbox: events are written in the same transaction as the data
they describe, then relayed to the log.

Without it, a crash between "commit" and "publish" would lose the event (a
status no follower ever receives). With it, the relay re-publishes whatever
is left at start-up; consumers are idempotent, so a repeat is harmless.

The relay reads pending events in id order and then forgets exactly the ids it
published: an event whose transaction commits later with a lower id (an engine
with sequences) is still pending at the next flush, not swept away unrelayed.
"""

from __future__ import annotations

import asyncio
from typing import Any

from roost.errors import InsufficientStorage, Unavailable
from roost.failpoints import Failpoints
from roost.ports import Log, ShardedDatabase, ShardHandle, Tx
from roost.ports.outbox import OutboxRepository

RELAY_BATCH = 1000


class Outbox:
    def __init__(self, db: ShardedDatabase, log: Log, failpoints: Failpoints, repo: OutboxRepository) -> None:
        self._db = db
        self._log = log
        self._failpoints = failpoints
        self._repo = repo
        # One relay per shard at a time in this process (a second would publish the
        # same events again); across processes a repeat is harmless, never a loss.
        self._locks = [asyncio.Lock() for _ in db.shards]
        self.relayed = 0

    async def stage(self, tx: Tx, key: int, event: dict[str, Any]) -> None:
        """Record ``event`` inside the caller's transaction; partitioned by ``key``."""
        await self._repo.stage(tx, key, event)

    async def flush(self, shard: ShardHandle) -> int:
        """Move this shard's pending events to the log, in order.

        A storage fault here (the log's disk is full) does not fail the write that
        staged them: that committed, and its events wait in the outbox for the next
        flush on this shard or the next start. The adapter has logged the fault."""
        async with self._locks[shard.index]:
            try:
                return await self._relay(shard.index)
            except (InsufficientStorage, Unavailable):
                return 0

    async def _relay(self, shard: int) -> int:
        events = await self._repo.pending(shard, RELAY_BATCH)
        if not events:
            return 0
        self._failpoints.hit("outbox.before_publish")
        await self._log.append_many([(e.key, e.event) for e in events])
        await self._repo.mark_relayed(shard, [e.id for e in events])
        self.relayed += len(events)
        return len(events)

    async def flush_all(self) -> int:
        total = 0
        for shard in self._db.shards:
            while moved := await self.flush(shard):
                total += moved
        return total
