"""Bulk writes: one statement per physical shard, each in a transaction of its own."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from roost.ports.database import Params, ShardedDatabase


async def execute_per_shard(db: ShardedDatabase, sql: str, rows: Mapping[int, Sequence[Params]]) -> None:
    """Run ``sql`` for every row, grouped by the physical shard the caller chose for it."""
    for physical, batch in rows.items():
        await db.shards[physical].execute_many(sql, batch)
