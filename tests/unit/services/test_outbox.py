"""The transactional outbox: an event committed with its data reaches the log even after a crash."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.log import SqliteLog
from roost.adapters.embedded.migrations.outbox import MIGRATIONS
from roost.adapters.sql.outbox import SqlOutbox
from roost.domain.shards import ShardMap
from roost.failpoints import Failpoints
from roost.ports.database import Migration
from roost.services.outbox import Outbox

DATA = Migration("data", 1, ("CREATE TABLE data (id BIGINT PRIMARY KEY)",))


async def open_all(path: Path) -> tuple[SqliteDatabase, SqliteLog, Outbox]:
    db = SqliteDatabase(path / "shards", ShardMap(8, 2))
    await db.migrate((*MIGRATIONS, DATA))
    log = SqliteLog(path / "log.sqlite3", partitions=2)
    return db, log, Outbox(db, log, Failpoints(), SqlOutbox(db))


async def everything(log: SqliteLog, group: str = "check") -> list[dict[str, object]]:
    out = []
    for p in range(log.partitions):
        out += [r.event for r in await log.read(group, p, 1000)]
    return out


def test_staged_event_is_relayed_by_flush_all_after_reopen(tmp_path: Path) -> None:
    async def crash_after_commit() -> None:
        db, log, _ = await open_all(tmp_path)
        outbox = Outbox(db, log, Failpoints(), SqlOutbox(db))
        for shard in db.shards:
            async with shard.transaction() as tx:
                await tx.execute("INSERT INTO data (id) VALUES (?)", (shard.index,))
                await outbox.stage(tx, shard.index, {"type": "data.created", "id": shard.index})
        # The process dies here: committed, never published.
        assert await everything(log) == []
        await log.close()
        await db.close()

    async def restart() -> None:
        db, log, outbox = await open_all(tmp_path)
        assert await outbox.flush_all() == 2
        events = await everything(log)
        assert sorted(e["id"] for e in events) == [0, 1]  # type: ignore[type-var]
        assert await outbox.flush_all() == 0  # relayed once, then gone from the outbox
        for shard in db.shards:
            row = await shard.fetch_one("SELECT COUNT(*) AS n FROM outbox")
            assert row is not None and row["n"] == 0
        await log.close()
        await db.close()

    asyncio.run(crash_after_commit())
    asyncio.run(restart())


def test_rolled_back_event_is_never_relayed(tmp_path: Path) -> None:
    async def body() -> None:
        db, log, outbox = await open_all(tmp_path)
        shard = db.shards[0]
        with pytest.raises(RuntimeError):
            async with shard.transaction() as tx:
                await outbox.stage(tx, 1, {"type": "ghost"})
                raise RuntimeError("validation failed after staging")
        assert await outbox.flush_all() == 0
        assert await everything(log) == []
        await log.close()
        await db.close()

    asyncio.run(body())


def test_flush_keeps_order_per_key(tmp_path: Path) -> None:
    async def body() -> None:
        db, log, outbox = await open_all(tmp_path)
        shard = db.shards[1]
        for n in range(5):
            async with shard.transaction() as tx:
                await outbox.stage(tx, 42, {"n": n})
        assert await outbox.flush(shard) == 5
        records = await log.read("g", log.partition_for(42), 100)
        assert [r.event["n"] for r in records] == [0, 1, 2, 3, 4]
        assert outbox.relayed == 5
        await log.close()
        await db.close()

    asyncio.run(body())


def test_failure_before_publish_keeps_the_event_for_the_next_flush(tmp_path: Path) -> None:
    async def body() -> None:
        db, log, _ = await open_all(tmp_path)
        failing = Outbox(db, log, Failpoints("outbox.before_publish=error"), SqlOutbox(db))
        async with db.shards[0].transaction() as tx:
            await failing.stage(tx, 3, {"type": "kept"})
        with pytest.raises(RuntimeError):
            await failing.flush_all()
        assert await Outbox(db, log, Failpoints(), SqlOutbox(db)).flush_all() == 1
        assert await everything(log) == [{"type": "kept"}]
        await log.close()
        await db.close()

    asyncio.run(body())
