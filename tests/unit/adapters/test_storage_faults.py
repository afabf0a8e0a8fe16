"""SQLite's own errors, classified: which become 507/503, which pass through, and how a
file's fault is remembered, logged once and cleared."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from roost.adapters.embedded.database import connect
from roost.adapters.embedded.faults import FaultRecord
from roost.adapters.embedded.readiness import write_probe
from roost.adapters.embedded.timelines import SqliteTimelineStore
from roost.errors import InsufficientStorage, Unavailable


def sqlite_error(conn: sqlite3.Connection, sql: str) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        conn.execute(sql)
    return caught.value


def test_real_sqlite_errors_are_classified(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.sqlite3")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB)")
    faults = FaultRecord("a.sqlite3")

    conn.execute(f"PRAGMA max_page_count={conn.execute('PRAGMA page_count').fetchone()[0]}")
    with pytest.raises(InsufficientStorage):
        faults.raise_for(sqlite_error(conn, "INSERT INTO t (v) VALUES (zeroblob(100000))"))
    conn.execute("PRAGMA max_page_count=1073741823")

    conn.execute("PRAGMA query_only=1")
    with pytest.raises(Unavailable) as unavailable:
        faults.raise_for(sqlite_error(conn, "INSERT INTO t (v) VALUES (1)"))
    assert unavailable.value.status_code == 503
    conn.execute("PRAGMA query_only=0")

    # roost's own mistakes are not storage faults: they pass through unchanged.
    conn.execute("INSERT INTO t (id) VALUES (1)")
    with pytest.raises(sqlite3.IntegrityError):
        faults.raise_for(sqlite_error(conn, "INSERT INTO t (id) VALUES (1)"))
    with pytest.raises(sqlite3.OperationalError):
        faults.raise_for(sqlite_error(conn, "SELECT nope FROM t"))


def test_a_fault_is_logged_once_and_corruption_sticks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="roost.storage")
    faults = FaultRecord("shard-01.sqlite3")
    for _ in range(3):
        faults.record("full", "database or disk is full")
    faults.probe_succeeded()
    assert faults.last is None
    faults.record("corrupt", "database disk image is malformed")
    faults.record("busy", "database is locked")  # does not hide the damage
    faults.probe_succeeded()
    assert faults.last is not None and faults.last.kind == "corrupt"
    assert [r.getMessage() for r in caplog.records] == [
        "storage fault on shard-01.sqlite3: database or disk is full (full)",
        "storage on shard-01.sqlite3 writable again (was full)",
        "storage fault on shard-01.sqlite3: database disk image is malformed (corrupt)",
        "storage fault on shard-01.sqlite3: database is locked (busy)",
    ]


def test_begin_immediate_and_rollback_would_not_see_a_read_only_file(tmp_path: Path) -> None:
    """Why the probe writes: taking the write lock succeeds on a read-only connection."""
    connect(tmp_path / "a.sqlite3").close()
    ro = sqlite3.connect(f"file:{tmp_path / 'a.sqlite3'}?mode=ro", uri=True, isolation_level=None)
    ro.execute("BEGIN IMMEDIATE")
    ro.execute("ROLLBACK")
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        write_probe(ro)


def test_the_timeline_probe_leaves_an_open_batch_alone(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "timelines.sqlite3")
        await store.replace("home:1", [1])
        store.faults.record("full", "database or disk is full")
        await store.push_many([("home:1", 2)])  # a fanout batch, not yet flushed
        assert await store.probe() is False
        await store.flush()
        assert await store.probe() is True
        await store.close()

    asyncio.run(body())


def test_a_lock_held_past_busy_timeout_is_503_and_the_shard_works_after(tmp_path: Path) -> None:
    from roost.adapters.embedded.database import SqliteShard

    async def body() -> None:
        shard = SqliteShard(0, tmp_path / "shard-00.sqlite3")
        await shard.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        shard._conn_.execute("PRAGMA busy_timeout=50")  # SQLite's wait, shortened for the test
        other = sqlite3.connect(tmp_path / "shard-00.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        with pytest.raises(Unavailable) as caught:
            async with shard.transaction() as tx:
                await tx.execute("INSERT INTO t (id) VALUES (1)")
        assert caught.value.extra["headers"] == {"Retry-After": "1"}
        assert shard.faults.last is not None and shard.faults.last.kind == "busy"
        other.execute("ROLLBACK")
        async with shard.transaction() as tx:
            await tx.execute("INSERT INTO t (id) VALUES (1)")
        assert [r["id"] for r in await shard.fetch_all("SELECT id FROM t")] == [1]
        assert await shard.probe() is True
        other.close()
        shard.close()

    asyncio.run(body())
