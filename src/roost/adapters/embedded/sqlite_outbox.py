"""The outbox on SQLite shards: a queue table read in rowid order, rows deleted by id
once relayed. SQLite has one writer per file, so ids commit in order here; the relay
still deletes exactly what it published, as an engine with sequences needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from roost.adapters.embedded.database import SqliteDatabase, executor
from roost.ports.database import Tx
from roost.ports.outbox import OutboxEvent

_DELETE_CHUNK = 500  # ids per "id IN (...)": well under SQLite's bound-parameter limit


class SqliteOutbox:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def stage(self, tx: Tx, key: int, event: dict[str, Any]) -> None:
        await executor(tx).execute(
            "INSERT INTO outbox (key, event) VALUES (?, ?)", (key, orjson.dumps(event))
        )

    async def pending(self, shard: int, limit: int) -> list[OutboxEvent]:
        rows = await self._db.shards[shard].fetch_all(
            "SELECT id, key, event FROM outbox ORDER BY id LIMIT ?", (limit,)
        )
        return [OutboxEvent(r["id"], r["key"], orjson.loads(r["event"])) for r in rows]

    async def mark_relayed(self, shard: int, ids: Sequence[int]) -> None:
        handle = self._db.shards[shard]
        for start in range(0, len(ids), _DELETE_CHUNK):
            chunk = ids[start : start + _DELETE_CHUNK]
            await handle.execute(f"DELETE FROM outbox WHERE id IN ({','.join('?' * len(chunk))})", chunk)
