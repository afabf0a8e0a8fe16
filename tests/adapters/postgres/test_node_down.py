"""Nodes that stop answering: a replica is routed around, a primary that is down (stopped by
PID) gives 503 with Retry-After through the gateway's error mapping, never a 500, and the
shard works again once the node is back; a write that reaches a former primary turned
replica (a stale topology after failover) is a 503 too."""

from __future__ import annotations

import asyncio
import json
from dataclasses import replace

import pytest
from starlette.requests import Request

from roost.adapters.postgres.consistency import ReadAfter, reading_after
from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.nodes import PoolOptions
from roost.cluster import supervisor
from roost.errors import Unavailable
from roost.gateway.errors import roost_error
from roost.ports.database import Migration

from .conftest import Cluster, open_db, wait_until


async def _as_http(exc: Unavailable) -> tuple[int, dict[str, str], dict[str, str]]:
    response = await roost_error(Request({"type": "http", "method": "GET", "path": "/", "headers": []}), exc)
    return response.status_code, dict(response.headers), json.loads(bytes(response.body))


def _stop(cluster: Cluster, name: str) -> None:
    supervisor.engines(cluster.state).pg.stop(cluster.pid(name))


def test_a_stopped_replica_is_routed_around_and_a_stopped_primary_is_503(pg_cluster: Cluster, table: str) -> None:
    primary, replica = pg_cluster.topology.primary(1), pg_cluster.topology.replicas(1)[0]

    async def prepare(db: PgDatabase) -> None:
        await db.migrate([Migration(table, 1, (f"CREATE TABLE {table} (id BIGINT PRIMARY KEY)",))])
        token = ReadAfter()
        with reading_after(token):
            await db.shards[1].execute(f"INSERT INTO {table} (id) VALUES (?)", (1,))
        while (db.shards[1].replicas[0].replay or 0) < (token.needs(1) or 0):
            await asyncio.sleep(0.05)

    async def main() -> None:
        db = await open_db(pg_cluster)
        try:
            shard = db.shards[1]
            await prepare(db)
            # 1. The replica stops: reads go on, from the primary.
            _stop(pg_cluster, replica.name)
            row = await shard.fetch_one(f"SELECT pg_is_in_recovery() AS r, count(*) AS n FROM {table}")
            assert row is not None and (row["r"], row["n"]) == (False, 1)
            assert not shard.replicas[0].reachable
            # 2. The primary stops too: every call is 503 with Retry-After.
            _stop(pg_cluster, primary.name)
            failures: list[Unavailable] = []
            for call in (lambda: shard.execute(f"INSERT INTO {table} (id) VALUES (?)", (2,)),
                         lambda: shard.fetch_all(f"SELECT id FROM {table}"),
                         lambda: shard.explain(f"SELECT id FROM {table}"),
                         db.ping):
                with pytest.raises(Unavailable) as caught:
                    await call()
                failures.append(caught.value)
            async with db.shards[0].transaction() as tx:  # the other shard is untouched
                assert await tx.execute("SELECT 1") == 1
            for failure in failures:
                status, headers, body = await _as_http(failure)
                assert status == 503 and int(headers["retry-after"]) > 0
                assert body == {"error": "The database is unavailable; try again later"}
            # 3. Back up: the same database object recovers without a restart of roost.
            await asyncio.to_thread(supervisor.up, pg_cluster.state_dir)
            assert await shard.execute(f"INSERT INTO {table} (id) VALUES (?)", (2,)) == 1
            assert shard.primary.faults.last is None
        finally:
            await db.close()

    try:
        asyncio.run(main())
    finally:
        supervisor.up(pg_cluster.state_dir)  # leave the cluster whole for the other tests
    wait_until(lambda: pg_cluster.value(replica, "SELECT pg_is_in_recovery()") is True, "the replica to be back")


def test_a_write_to_a_former_primary_now_a_replica_is_503(pg_cluster: Cluster) -> None:
    stale = pg_cluster.topology.replicas(0)[0]
    # A topology that still calls the replica its shard's primary (as after a failover
    # this process has not heard of yet).
    topology = replace(pg_cluster.topology, nodes=(replace(stale, role="primary"),))

    async def main() -> Unavailable:
        db = await PgDatabase.open(topology, logical_shards=64, pool=PoolOptions(min_size=1, max_size=2),
                                   max_replica_lag_seconds=5.0, check_interval_seconds=1.0)
        try:
            with pytest.raises(Unavailable) as caught:
                async with db.shards[0].transaction() as tx:
                    await tx.execute("CREATE TABLE never_made (id BIGINT)")
            return caught.value
        finally:
            await db.close()

    error = asyncio.run(main())
    assert error.message == "The database is changing over to a new primary; try again"
    assert error.extra["headers"] == {"Retry-After": "5"}
