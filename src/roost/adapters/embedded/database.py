"""SQLite shards: one file per physical shard, in WAL mode.

Calls run synchronously on the event loop thread: an indexed SQLite lookup
takes microseconds, far less than handing it to a thread pool would cost.
A per-shard lock keeps other coroutines out of an open transaction, since a
unit of work may await other services between its statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from roost.adapters.embedded.faults import FaultRecord
from roost.adapters.embedded.readiness import write_probe
from roost.domain.shards import ShardMap
from roost.ports.database import Executor, Migration, Params, Row


def shard_file_name(index: int) -> str:
    return f"shard-{index:02d}.sqlite3"


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
    # try/except costs nothing when nothing is raised (Python 3.11), so every call
    # classifies SQLite's storage faults without slowing the hot path.
    def __init__(self, conn: sqlite3.Connection, faults: FaultRecord) -> None:
        self._conn = conn
        self.faults = faults

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            rows: list[Row] = self._conn.execute(sql, params).fetchall()
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)
        return rows

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        try:
            return self._conn.execute(sql, params).fetchone()  # type: ignore[no-any-return]
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            return self._conn.execute(sql, params).rowcount
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        try:
            self._conn.executemany(sql, rows)
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)


class SqliteShard(_SqliteExecutor):
    def __init__(self, index: int, path: Path) -> None:
        self.index = index
        self.path = path
        self._conn_ = connect(path)
        super().__init__(self._conn_, FaultRecord(path.name))
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
            conn = self._conn_
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                self.faults.raise_for(exc)
            try:
                yield _SqliteExecutor(conn, self.faults)
            except BaseException:
                _rollback(conn)
                raise
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                # SQLite may have rolled back already (a full disk does); if not, do it,
                # so nothing of the unit of work is left half-applied or still open.
                _rollback(conn)
                self.faults.raise_for(exc)

    async def probe(self) -> bool:
        """Prove this shard can take a write now (see readiness.write_probe)."""
        async with self._lock:
            try:
                write_probe(self._conn_)
            except sqlite3.Error as exc:
                self.faults.raise_for(exc)
        return True

    async def explain(self, sql: str, params: Params = ()) -> list[str]:
        rows = self._conn_.execute("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        return [str(row["detail"]) for row in rows]

    def close(self) -> None:
        self._conn_.close()


def _rollback(conn: sqlite3.Connection) -> None:
    if conn.in_transaction:
        # A rollback that fails too (the file is gone) must not hide the first error.
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")


class SqliteDatabase:
    """``physical`` SQLite files under ``directory``, addressed through a ShardMap."""

    def __init__(self, directory: Path, shard_map: ShardMap) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.shard_map = shard_map
        self._shards = [
            SqliteShard(i, directory / shard_file_name(i)) for i in range(shard_map.physical)
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
