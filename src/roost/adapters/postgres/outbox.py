"""The outbox on PostgreSQL: the SQL outbox, reading pending events on the primary.

A replica may not yet have replayed the commit that staged an event (the flush right
after it would find nothing, and the event would wait for the next write on the shard),
and may still show events the relay already deleted on the primary (published twice).
A read inside a unit of work runs on the primary and, under MVCC, waits for no writer.
"""

from __future__ import annotations

from roost.adapters.sql.outbox import PENDING, SqlOutbox
from roost.ports.database import Row


class PgOutbox(SqlOutbox):
    async def _pending_rows(self, shard: int, limit: int) -> list[Row]:
        async with self._db.shards[shard].transaction() as tx:
            return await tx.fetch_all(PENDING, (limit,))
