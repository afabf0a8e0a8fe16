"""The SQL adapters' executor interface behaves alike on SQLite and PostgreSQL: what the
repositories of both families rely on (row counts, ON CONFLICT, RETURNING, rows as mappings,
units of work that commit or roll back whole, ``?`` placeholders)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from roost.adapters.embedded.database import SqliteDatabase
from roost.domain.shards import ShardMap
from roost.ports.database import Migration, Shard

from .conftest import open_db

Work = Callable[[Shard, str], Coroutine[Any, Any, None]]


@pytest.fixture(params=["sqlite", "postgres"])
def engine(request: pytest.FixtureRequest, tmp_path: Path, table: str) -> Callable[[Work], None]:
    cluster = request.getfixturevalue("pg_cluster") if request.param == "postgres" else None

    @asynccontextmanager
    async def opened() -> AsyncIterator[Any]:
        if request.param == "sqlite":
            db: Any = SqliteDatabase(tmp_path, ShardMap(64, 2))
        else:
            db = await open_db(cluster)
        try:
            yield db
        finally:
            await db.close()

    def run(work: Work) -> None:
        async def main() -> None:
            async with opened() as db:
                await db.migrate([Migration(table, 1, (
                    f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0, body TEXT)",))])
                await work(db.shards[0], table)

        asyncio.run(main())

    return run


def test_row_counts_and_on_conflict(engine: Callable[[Work], None]) -> None:
    async def work(shard: Shard, table: str) -> None:
        insert = f"INSERT INTO {table} (id, body) VALUES (?, ?) ON CONFLICT DO NOTHING"
        async with shard.transaction() as tx:
            assert await tx.execute(insert, (2**62, "a")) == 1
            assert await tx.execute(insert, (2**62, "again")) == 0
            await tx.execute_many(insert, [(1, "b"), (2, "c")])
            assert await tx.execute(f"UPDATE {table} SET n = n + 1 WHERE id IN (?, ?)", (1, 2)) == 2
            assert await tx.execute(f"DELETE FROM {table} WHERE id = ?", (404,)) == 0

    engine(work)


def test_rows_are_mappings_and_returning_works(engine: Callable[[Work], None]) -> None:
    async def work(shard: Shard, table: str) -> None:
        async with shard.transaction() as tx:
            row = await tx.fetch_one(f"INSERT INTO {table} (id, body) VALUES (?, ?) RETURNING id, n", (7, "x"))
            assert row is not None and dict(row) == {"id": 7, "n": 0}
            assert await tx.fetch_one(f"SELECT id FROM {table} WHERE id = ?", (8,)) is None
            rows = await tx.fetch_all(f"SELECT id, body FROM {table} WHERE body = '?' OR id = ?", (7,))
            assert [(r["id"], r["body"]) for r in rows] == [(7, "x")]

    engine(work)


def test_a_unit_of_work_commits_or_rolls_back_whole(engine: Callable[[Work], None]) -> None:
    async def work(shard: Shard, table: str) -> None:
        with pytest.raises(LookupError):
            async with shard.transaction() as tx:
                await tx.execute(f"INSERT INTO {table} (id) VALUES (?)", (1,))
                raise LookupError
        async with shard.transaction() as tx:
            await tx.execute(f"INSERT INTO {table} (id) VALUES (?)", (2,))
        async with shard.transaction() as tx:
            assert [r["id"] for r in await tx.fetch_all(f"SELECT id FROM {table}")] == [2]

    engine(work)
