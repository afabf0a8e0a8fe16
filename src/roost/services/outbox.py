"""The transactional outbox: events are written in the same transaction as the data
they describe, then relayed to the log.

Without it, a crash between "commit" and "publish" would lose the event (a
status no follower ever receives). With it, the relay re-publishes whatever
is left at start-up; consumers are idempotent, so a repeat is harmless.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson

from roost.errors import InsufficientStorage, Unavailable
from roost.failpoints import Failpoints
from roost.ports import Executor, Log, Migration, Shard, ShardedDatabase

MIGRATIONS = (
    Migration(
        "outbox",
        1,
        (
            "CREATE TABLE outbox ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, key BIGINT NOT NULL, event BLOB NOT NULL)",
        ),
    ),
)


class Outbox:
    def __init__(self, db: ShardedDatabase, log: Log, failpoints: Failpoints) -> None:
        self._db = db
        self._log = log
        self._failpoints = failpoints
        self._locks = [asyncio.Lock() for _ in db.shards]
        self.relayed = 0

    async def stage(self, tx: Executor, key: int, event: dict[str, Any]) -> None:
        """Record ``event`` inside the caller's transaction; partitioned by ``key``."""
        await tx.execute("INSERT INTO outbox (key, event) VALUES (?, ?)", (key, orjson.dumps(event)))

    async def flush(self, shard: Shard) -> int:
        """Move this shard's pending events to the log, in order.

        A storage fault here (the log's disk is full) does not fail the write that
        staged them: that committed, and its events wait in the outbox for the next
        flush on this shard or the next start. The adapter has logged the fault."""
        async with self._locks[shard.index]:
            try:
                return await self._relay(shard)
            except (InsufficientStorage, Unavailable):
                return 0

    async def _relay(self, shard: Shard) -> int:
        rows = await shard.fetch_all("SELECT id, key, event FROM outbox ORDER BY id LIMIT 1000")
        if not rows:
            return 0
        self._failpoints.hit("outbox.before_publish")
        await self._log.append_many([(r["key"], orjson.loads(r["event"])) for r in rows])
        await shard.execute("DELETE FROM outbox WHERE id <= ?", (rows[-1]["id"],))
        self.relayed += len(rows)
        return len(rows)

    async def flush_all(self) -> int:
        total = 0
        for shard in self._db.shards:
            while moved := await self.flush(shard):
                total += moved
        return total
