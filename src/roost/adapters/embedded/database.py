"""SQLite shards: one file per physical shard, in WAL mode.

Calls run synchronously on the event loop thread: an indexed SQLite lookup
takes microseconds, far less than handing it to a thread pool would cost.
A per-shard lock keeps other coroutines out of an open transaction, since a
unit of work may await other services between its statements.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import cast

from roost.adapters.embedded.faults import FaultRecord
from roost.adapters.embedded.readiness import write_probe
from roost.domain.shards import ShardMap
from roost.ports.database import Executor, Migration, Params, Row, Tx


def shard_file_name(index: int) -> str:
    return f"shard-{index:02d}.sqlite3"


# Beside the shard files: held (flock) by whoever migrates them, so migrators of one
# data directory take turns; the lock goes with the holder's process if it dies.
MIGRATE_LOCK_FILE = "migrate.lock"
_SCHEMA_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version INTEGER NOT NULL,"
    " PRIMARY KEY (component, version))"
)


def _ordered(migrations: Iterable[Migration]) -> list[Migration]:
    return sorted(migrations, key=lambda m: (m.component, m.version))


@asynccontextmanager
async def _file_lock(path: Path) -> AsyncIterator[None]:
    """An exclusive flock on ``path``, waited for in a thread so the event loop (and
    another migrator in this process, on its own descriptor) keeps running."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        await asyncio.to_thread(fcntl.flock, fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout=5000")
    _switch_to_wal(conn)
    # NORMAL in WAL mode survives a process crash (only an OS crash can lose the last commits).
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-65536")
    conn.execute("PRAGMA temp_store=MEMORY")
    return conn


def _switch_to_wal(conn: sqlite3.Connection, patience_s: float = 5.0) -> None:
    """``PRAGMA journal_mode=WAL``, retried while another opener holds the lock. On a new
    file, openers racing to switch it (several processes starting on a fresh data
    directory) get "database is locked" at once: SQLite does not call the busy handler
    for that lock, so busy_timeout does not cover it (about 1 race in 20 here)."""
    deadline = time.monotonic() + patience_s
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def executor(tx: Tx) -> Executor:
    """The SQLite unit of work behind an opaque ``Tx``: only this family opens them, so
    only its repositories look inside."""
    return cast(Executor, tx)


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

    async def recorded_migrations(self) -> set[tuple[str, int]]:
        """The (component, version) steps applied to this shard."""
        try:
            rows = await self.fetch_all("SELECT component, version FROM schema_migrations")
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return set()  # never migrated
            raise
        return {(r["component"], r["version"]) for r in rows}

    async def apply_migrations(self, ordered: Sequence[Migration]) -> list[Migration]:
        """Apply the steps of ``ordered`` this shard lacks, in one exclusive transaction
        (nothing else writes meanwhile, so what is recorded cannot change under us)."""
        async with self._lock:
            conn = self._conn_
            try:
                conn.execute("BEGIN EXCLUSIVE")
            except sqlite3.Error as exc:
                self.faults.raise_for(exc)
            try:
                conn.execute(_SCHEMA_TABLE)
                done = {(r[0], r[1]) for r in conn.execute("SELECT component, version FROM schema_migrations")}
                applied = [m for m in ordered if (m.component, m.version) not in done]
                for m in applied:
                    for statement in m.statements:
                        conn.execute(statement)
                    conn.execute(
                        "INSERT INTO schema_migrations (component, version) VALUES (?, ?)",
                        (m.component, m.version),
                    )
                conn.execute("COMMIT")
            except BaseException as exc:
                _rollback(conn)
                if isinstance(exc, sqlite3.Error):
                    self.faults.raise_for(exc)
                raise
            return applied

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
        self._directory = directory
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

    async def migrate(self, migrations: Sequence[Migration]) -> list[tuple[int, Migration]]:
        """Apply the steps not yet recorded, on every shard; returns (shard, step) for each
        one applied here. Safe to run from several processes at once: the lock file makes
        migrators take turns, and each shard is migrated in one ``BEGIN EXCLUSIVE``
        transaction that reads what is recorded first, so every step applies once."""
        applied: list[tuple[int, Migration]] = []
        async with _file_lock(self._directory / MIGRATE_LOCK_FILE):
            for shard in self._shards:
                applied += [(shard.index, m) for m in await shard.apply_migrations(_ordered(migrations))]
        return applied

    async def unapplied(self, migrations: Sequence[Migration]) -> list[tuple[int, Migration]]:
        """(shard, step) for each step not yet applied: empty when the schema is current."""
        missing: list[tuple[int, Migration]] = []
        for shard in self._shards:
            done = await shard.recorded_migrations()
            missing += [(shard.index, m) for m in _ordered(migrations) if (m.component, m.version) not in done]
        return missing

    async def ping(self) -> None:
        for shard in self._shards:
            await shard.fetch_one("SELECT 1")

    async def close(self) -> None:
        for shard in self._shards:
            shard.close()
