"""PgDatabase against a real two-shard cluster: units of work, routing by id, migrations under
the advisory lock, errors as roost's, and EXPLAIN."""

from __future__ import annotations

import asyncio

import pytest

from roost.adapters.postgres.database import PgDatabase, executor_of
from roost.domain.ids import IdGenerator
from roost.errors import Conflict, Unavailable
from roost.ports.database import Migration

from .conftest import Cluster, run_on


def _notes(table: str) -> list[Migration]:
    return [
        Migration(table, 1, (f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, author BIGINT NOT NULL,"
                             f" body TEXT NOT NULL)",)),
        Migration(table, 2, (f"CREATE UNIQUE INDEX {table}_author_body ON {table} (author, body)",)),
    ]


def test_a_unit_of_work_commits_on_the_shard_its_id_routes_to(pg_cluster: Cluster, table: str) -> None:
    ids = IdGenerator()
    # Snowflakes for logical shards on both physical shards: 64-bit values, above INTEGER's range.
    first, second = ids.next_id(0), ids.next_id(63)

    async def work(db: PgDatabase) -> tuple[int, int, list[int], list[int]]:
        await db.migrate(_notes(table))
        assert db.for_id(first).index == 0 and db.for_id(second).index == 1
        for snowflake in (first, second):
            async with db.for_id(snowflake).transaction() as tx:
                changed = await tx.execute(f"INSERT INTO {table} (id, author, body) VALUES (?, ?, ?)",
                                           (snowflake, snowflake, "hello"))
                assert changed == 1
                assert executor_of(tx).shard == db.for_id(snowflake).index
        on_primary = []
        for shard in db.shards:
            async with shard.transaction() as tx:
                on_primary.append([r["id"] for r in await tx.fetch_all(f"SELECT id FROM {table}")])
        return first, second, on_primary[0], on_primary[1]

    a, b, shard0, shard1 = run_on(pg_cluster, work)
    assert a > 2**40 and b > 2**40
    assert (shard0, shard1) == ([a], [b])  # each row on its own shard only


def test_a_failed_unit_of_work_leaves_nothing(pg_cluster: Cluster, table: str) -> None:
    async def work(db: PgDatabase) -> int:
        await db.migrate(_notes(table))
        shard = db.shards[0]
        with pytest.raises(RuntimeError):
            async with shard.transaction() as tx:
                await tx.execute(f"INSERT INTO {table} (id, author, body) VALUES (?, ?, ?)", (1, 1, "x"))
                raise RuntimeError("the service changed its mind")
        async with shard.transaction() as tx:
            row = await tx.fetch_one(f"SELECT count(*) AS n FROM {table}")
        assert row is not None
        return int(row["n"])

    assert run_on(pg_cluster, work) == 0


def test_unique_violation_is_a_conflict_and_on_conflict_do_nothing_counts_zero(
        pg_cluster: Cluster, table: str) -> None:
    async def work(db: PgDatabase) -> None:
        await db.migrate(_notes(table))
        shard = db.shards[1]
        insert = f"INSERT INTO {table} (id, author, body) VALUES (?, ?, ?)"
        await shard.execute(insert, (1, 7, "same"))
        with pytest.raises(Conflict) as caught:
            await shard.execute(insert, (2, 7, "same"))
        assert caught.value.constraint == f"{table}_author_body"
        assert await shard.execute(insert + " ON CONFLICT DO NOTHING", (3, 7, "same")) == 0
        await shard.execute_many(insert, [(4, 8, "a"), (5, 8, "b")])
        async with shard.transaction() as tx:
            rows = await tx.fetch_all(f"SELECT id FROM {table} ORDER BY id")
        assert [r["id"] for r in rows] == [1, 4, 5]

    run_on(pg_cluster, work)


def test_racing_migrators_apply_each_step_once(pg_cluster: Cluster, table: str) -> None:
    # Each step counts its own runs; a step run twice would also fail (CREATE TABLE twice).
    steps = [
        Migration(table, 1, (f"CREATE TABLE {table}_runs (step INT NOT NULL)",
                             f"INSERT INTO {table}_runs VALUES (1)")),
        Migration(table, 2, (f"CREATE TABLE {table} (id BIGINT PRIMARY KEY)",
                             f"INSERT INTO {table}_runs VALUES (2)", "SELECT pg_sleep(0.2)")),
        Migration(table, 3, (f"ALTER TABLE {table} ADD COLUMN body TEXT",
                             f"INSERT INTO {table}_runs VALUES (3)")),
    ]

    async def work(db: PgDatabase) -> list[list[tuple[int, int]]]:
        assert len(await db.unapplied(steps)) == len(steps) * len(db.shards)
        other = await _open_like(pg_cluster)
        try:
            applied = await asyncio.gather(db.migrate(steps), other.migrate(steps), db.migrate(steps))
        finally:
            await other.close()
        # Together the three applied each step once per shard, whoever won each lock.
        assert sorted((shard, m.version) for run in applied for shard, m in run) == sorted(
            (s.index, m.version) for s in db.shards for m in steps)
        assert await db.migrate(steps) == []  # again, later: nothing to do
        assert await db.unapplied(steps) == []
        found = []
        for shard in db.shards:
            async with shard.transaction() as tx:
                runs = await tx.fetch_all(f"SELECT step, count(*) AS n FROM {table}_runs GROUP BY step ORDER BY step")
                found.append([(r["step"], r["n"]) for r in runs])
        return found

    assert run_on(pg_cluster, work) == [[(1, 1), (2, 1), (3, 1)]] * 2


async def _open_like(cluster: Cluster) -> PgDatabase:
    from .conftest import open_db

    return await open_db(cluster)


def test_a_failing_step_rolls_back_whole_and_is_retried_next_time(pg_cluster: Cluster, table: str) -> None:
    broken = [Migration(table, 1, (f"CREATE TABLE {table} (id BIGINT PRIMARY KEY)", "SELECT * FROM no_such_table"))]
    fixed = [Migration(table, 1, (f"CREATE TABLE {table} (id BIGINT PRIMARY KEY)",))]

    async def work(db: PgDatabase) -> int:
        with pytest.raises(Exception, match="no_such_table"):
            await db.migrate(broken)
        await db.migrate(fixed)  # the half-made table was rolled back with its step
        return await db.shards[0].execute(f"INSERT INTO {table} (id) VALUES (?)", (2**62,))

    assert run_on(pg_cluster, work) == 1


def test_explain_returns_the_plan_lines(pg_cluster: Cluster, table: str) -> None:
    async def work(db: PgDatabase) -> list[str]:
        await db.migrate(_notes(table))
        return await db.shards[0].explain(f"SELECT body FROM {table} WHERE author = ? AND body = ?", (1, "x"))

    plan = run_on(pg_cluster, work)
    assert any(f"Index Scan using {table}_author_body" in line or f"Index Only Scan using {table}_author_body"
               in line or f"Bitmap Index Scan on {table}_author_body" in line for line in plan), plan


def test_a_statement_past_the_timeout_is_unavailable(pg_cluster: Cluster) -> None:
    async def work(db: PgDatabase) -> Unavailable:
        with pytest.raises(Unavailable) as caught:
            async with db.shards[0].transaction() as tx:
                await tx.fetch_one("SELECT pg_sleep(5)")
        # The pool's connection is usable again afterwards.
        async with db.shards[0].transaction() as tx:
            row = await tx.fetch_one("SELECT 1 AS one")
            assert row is not None and dict(row) == {"one": 1}
        return caught.value

    error = run_on(pg_cluster, work, statement_timeout=0.2)
    assert error.status_code == 503 and error.extra["headers"] == {"Retry-After": "2"}


def test_a_deadlock_is_unavailable_and_retryable(pg_cluster: Cluster, table: str) -> None:
    async def work(db: PgDatabase) -> list[BaseException | None]:
        await db.migrate([Migration(table, 1, (f"CREATE TABLE {table} (id BIGINT PRIMARY KEY, n INT)",
                                               f"INSERT INTO {table} VALUES (1, 0), (2, 0)"))])
        shard = db.shards[0]
        both_locked = asyncio.Barrier(2)

        async def cross(first: int, second: int) -> None:
            async with shard.transaction() as tx:
                await tx.execute(f"UPDATE {table} SET n = n + 1 WHERE id = ?", (first,))
                await both_locked.wait()
                await tx.execute(f"UPDATE {table} SET n = n + 1 WHERE id = ?", (second,))

        results = await asyncio.gather(cross(1, 2), cross(2, 1), return_exceptions=True)
        return [r if isinstance(r, BaseException) else None for r in results]

    results = run_on(pg_cluster, work)
    failed = [r for r in results if r is not None]
    assert len(failed) == 1, results  # the engine broke the cycle; the other committed
    assert isinstance(failed[0], Unavailable) and failed[0].extra["headers"] == {"Retry-After": "1"}


def test_open_postgres_reads_the_cluster_config_named_in_the_settings(pg_cluster: Cluster) -> None:
    from roost.adapters.postgres.database import open_postgres
    from roost.settings import Settings

    settings = Settings.from_env({"ROOST_CLUSTER_CONFIG": str(pg_cluster.state.config),
                                  "ROOST_LOGICAL_SHARDS": "64", "ROOST_MAX_REPLICA_LAG_SECONDS": "7.5",
                                  "ROOST_PG_POOL_MAX_SIZE": "3"})

    async def main() -> tuple[int, int, float, int]:
        db = await open_postgres(settings)
        try:
            await db.ping()
            shard = db.shards[1]
            return len(db.shards), db.shard_map.logical, shard.max_replica_lag_seconds, shard.primary.pool.get_max_size()
        finally:
            await db.close()

    assert asyncio.run(main()) == (2, 64, 7.5, 3)
    with pytest.raises(ValueError, match="ROOST_CLUSTER_CONFIG"):
        asyncio.run(open_postgres(Settings()))
