"""The outbox of the SQL families: a queue table read in id order, rows deleted by id
once relayed.

Ids come from the engine (SQLite AUTOINCREMENT, a PostgreSQL identity sequence) when the
event is staged, not when its transaction commits. On SQLite, one writer per file, they
commit in order; on PostgreSQL, transactions commit concurrently, so the relay may read
ids 1 and 10 while 5 is still uncommitted. It then deletes exactly the ids it read, and 5
is pending at the next flush: never lost, though its place in the log follows its commit.

Where the relay reads differs by engine (``_pending_rows``): on SQLite a plain read of
the shard file (a unit of work would wait for another process's open write); on
PostgreSQL the primary (adapters/postgres/outbox.py), since a replica may not yet show
the event just committed, or may still show events already deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from roost.adapters.sql.units import executor
from roost.ports.database import Row, ShardedDatabase, Tx
from roost.ports.outbox import OutboxEvent

_DELETE_CHUNK = 500  # ids per "id IN (...)": well under SQLite's bound-parameter limit
PENDING = "SELECT id, key, event FROM outbox ORDER BY id LIMIT ?"


class SqlOutbox:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def stage(self, tx: Tx, key: int, event: dict[str, Any]) -> None:
        await executor(tx).execute(
            "INSERT INTO outbox (key, event) VALUES (?, ?)", (key, orjson.dumps(event))
        )

    async def pending(self, shard: int, limit: int) -> list[OutboxEvent]:
        rows = await self._pending_rows(shard, limit)
        return [OutboxEvent(r["id"], r["key"], orjson.loads(r["event"])) for r in rows]

    async def _pending_rows(self, shard: int, limit: int) -> list[Row]:
        return await self._db.shards[shard].fetch_all(PENDING, (limit,))

    async def mark_relayed(self, shard: int, ids: Sequence[int]) -> None:
        handle = self._db.shards[shard]
        for start in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[start : start + _DELETE_CHUNK]
            await handle.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(chunk))})", chunk)
