"""Migrations under a lock: concurrent migrators apply each step once; a process that
is one of several (migrate_on_start off) refuses an unmigrated store; roost up's
shape (migrate_on_start on) migrates by itself."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest

from roost.adapters.embedded.database import SqliteDatabase
from roost.domain.shards import ShardMap
from roost.errors import StorageIntegrityError
from roost.ports.database import Migration
from roost.runtime.backends import MIGRATIONS, check_data_dir
from roost.runtime.container import start, stop
from roost.settings import Settings

MIGRATORS = 4


def every_step(shards: int) -> list[tuple[int, str, int]]:
    return sorted((s, m.component, m.version) for s in range(shards) for m in MIGRATIONS)


def test_migrators_racing_in_threads_apply_each_step_once(tmp_path: Path) -> None:
    shard_map = ShardMap(16, 4)
    start_together = threading.Barrier(MIGRATORS)
    applied: list[tuple[int, Migration]] = []
    errors: list[BaseException] = []

    def migrator() -> None:
        async def body() -> None:
            try:
                db = SqliteDatabase(tmp_path / "shards", shard_map)  # its own connections: another process
            except BaseException:
                start_together.abort()  # the others must not wait for this one
                raise
            try:
                start_together.wait(timeout=60)
                applied.extend(await db.migrate(MIGRATIONS) or [])
            finally:
                await db.close()

        try:
            asyncio.run(body())
        except BaseException as exc:  # reported below, with the others
            errors.append(exc)

    threads = [threading.Thread(target=migrator) for _ in range(MIGRATORS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted((s, m.component, m.version) for s, m in applied) == every_step(4)

    async def recorded() -> None:
        db = SqliteDatabase(tmp_path / "shards", shard_map)
        assert await db.unapplied(MIGRATIONS) == []
        assert await db.migrate(MIGRATIONS) == []  # idempotent
        await db.close()

    asyncio.run(recorded())


def test_migrators_racing_in_one_event_loop_apply_each_step_once(tmp_path: Path) -> None:
    async def body() -> None:
        dbs = [SqliteDatabase(tmp_path / "shards", ShardMap(16, 2)) for _ in range(MIGRATORS)]
        results = await asyncio.gather(*(db.migrate(MIGRATIONS) for db in dbs))
        steps = sorted((s, m.component, m.version) for result in results for s, m in result)
        assert steps == every_step(2)
        for db in dbs:
            await db.close()

    asyncio.run(body())


def test_a_failing_step_leaves_the_shard_as_it_was_and_is_retried(tmp_path: Path) -> None:
    good = Migration("things", 1, ("CREATE TABLE things (id INTEGER PRIMARY KEY)",))
    bad = Migration("things", 2, ("CREATE INDEX things_by_nothing ON things (missing_column)",))

    async def body() -> None:
        db = SqliteDatabase(tmp_path / "shards", ShardMap(4, 1))
        with pytest.raises(Exception, match="missing_column"):
            await db.migrate((good, bad))
        assert [m.version for _s, m in await db.unapplied((good, bad))] == [1, 2]
        assert [m.version for _s, m in await db.migrate((good,))] == [1]
        await db.close()

    asyncio.run(body())


def settings_for(data: Path, **overrides: object) -> Settings:
    return Settings(data_dir=data, physical_shards=2, logical_shards=64).with_overrides(**overrides)


def test_one_of_several_processes_refuses_an_unmigrated_store(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", migrate_on_start=False)
    check_data_dir(settings)  # a data directory set up, never migrated

    with pytest.raises(StorageIntegrityError, match=r"not current .*: run roost migrate$"):
        asyncio.run(start(settings, ("notifications",)))

    async def migrate_then_start() -> None:
        db = SqliteDatabase(settings.data_dir / "shards", ShardMap(64, 2))
        await db.migrate(MIGRATIONS)
        await db.close()
        container = await start(settings, ("notifications",))
        await stop(container)

    asyncio.run(migrate_then_start())


def test_one_of_several_processes_refuses_a_store_one_step_behind(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data", migrate_on_start=False)
    check_data_dir(settings)

    async def body() -> None:
        db = SqliteDatabase(settings.data_dir / "shards", ShardMap(64, 2))
        await db.migrate([m for m in MIGRATIONS if (m.component, m.version) != ("search", 2)])
        await db.close()
        with pytest.raises(StorageIntegrityError, match=r"\(search 2 on shards 0, 1 not applied\)"):
            await start(settings, ("notifications",))

    asyncio.run(body())


def test_the_one_process_shape_migrates_by_itself(tmp_path: Path) -> None:
    settings = settings_for(tmp_path / "data")
    assert settings.migrate_on_start

    async def body() -> None:
        container = await start(settings, ("notifications",))
        assert await container.storage.db.unapplied(MIGRATIONS) == []
        await stop(container)

    asyncio.run(body())
