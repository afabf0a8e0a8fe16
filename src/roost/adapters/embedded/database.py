"""SQLite shards: one file per physical shard, in WAL mode.

Calls run synchronously on the event loop thread: an indexed SQLite lookup
takes microseconds, far less than handing it to a thread pool would cost.
A per-shard lock keeps other coroutines out of an open transaction, since a
unit of work may await other services between its statements.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from roost.domain.shards import ShardMap
from roost.ports.database import Executor, Migration, Params, Row


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # NORMAL in WAL mode survives a process crash (only an OS crash can lose the last commits).
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA busy_timeout=5000")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


class _SqliteExecutor:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        rows: list[Row] = self._conn.execute(sql, params).fetchall()
        return rows

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return self._conn.execute(sql, params).fetchone()  # type: ignore[no-any-return]

    async def execute(self, sql: str, params: Params = ()) -> int:
        return self._conn.execute(sql, params).rowcount

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        self._conn.executemany(sql, rows)


class SqliteShard(_SqliteExecutor):
    def __init__(self, index: int, path: Path) -> None:
        self.index = index
        self.path = path
        self._conn_ = connect(path)
        super().__init__(self._conn_)
        self._lock = asyncio.Lock()

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        if self._lock.locked():
            async with self._lock:
                return await super().fetch_all(sql, params)
        return await super().fetch_all(sql, params)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        if self._lock.locked():
            async with self._lock:
                return await super().fetch_one(sql, params)
        return await super().fetch_one(sql, params)

    async def execute(self, sql: str, params: Params = ()) -> int:
        async with self._lock:
            return await super().execute(sql, params)

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Executor]:
        async with self._lock:
            self._conn_.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteExecutor(self._conn_)
            except BaseException:
                self._conn_.execute("ROLLBACK")
                raise
            else:
                self._conn_.execute("COMMIT")

    async def explain(self, sql: str, params: Params = ()) -> list[str]:
        rows = self._conn_.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return [str(row["detail"]) for row in rows]

    def close(self) -> None:
        self._conn_.close()


class SqliteDatabase:
    """``physical`` SQLite files under ``directory``, addressed through a ShardMap."""

    def __init__(self, directory: Path, shard_map: ShardMap) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.shard_map = shard_map
        self._shards = [
            SqliteShard(i, directory / f"shard-{i:02d}.sqlite3") for i in range(shard_map.physical)
        ]

    @property
    def shards(self) -> Sequence[SqliteShard]:
        return self._shards

    def for_id(self, snowflake: int) -> SqliteShard:
        return self._shards[self.shard_map.physical_for_id(snowflake)]

    def for_key(self, key: str | int) -> SqliteShard:
        return self._shards[self.shard_map.physical_for_key(key)]

    def for_logical(self, logical: int) -> SqliteShard:
        return self._shards[self.shard_map.physical_for_logical(logical)]

    async def migrate(self, migrations: Sequence[Migration]) -> None:
        for shard in self._shards:
            await shard.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " component TEXT NOT NULL, version INTEGER NOT NULL,"
                " PRIMARY KEY (component, version))"
            )
            done = {
                (r["component"], r["version"])
                for r in await shard.fetch_all("SELECT component, version FROM schema_migrations")
            }
            for m in sorted(migrations, key=lambda m: (m.component, m.version)):
                if (m.component, m.version) in done:
                    continue
                async with shard.transaction() as tx:
                    for statement in m.statements:
                        await tx.execute(statement)
                    await tx.execute(
                        "INSERT INTO schema_migrations (component, version) VALUES (?, ?)",
                        (m.component, m.version),
                    )

    async def ping(self) -> None:
        for shard in self._shards:
            await shard.fetch_one("SELECT 1")

    async def close(self) -> None:
        for shard in self._shards:
            shard.close()
