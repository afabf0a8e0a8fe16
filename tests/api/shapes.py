"""The two shapes an API suite can run on: "embedded" (SQLite shards in a temporary folder) and
"cluster" (a real 2-shard PostgreSQL cluster with one streaming replica per shard, plus Redis,
started once per session through roost.cluster on spare loopback ports, fsync off).

A suite that must hold on both shapes asks for the module fixture ``shape`` (tests/api/conftest.py)
and passes it to ``running_server(..., shape=shape)``. On the cluster every server gets a store of
its own: new databases on every shard primary (the replicas receive them by streaming), named in a
cluster config of its own (in a folder of its own, where roost also keeps the cluster's log),
and an emptied Redis; the databases are dropped when the server stops.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import asyncpg
import redis as redis_py

from roost.cluster import topology as topo
from roost.cluster.postgres import connect, ensure_database
from roost.cluster.topology import PostgresNode, Topology

SHAPES = ["embedded", "cluster"]
# Connections per node per test server: the suites run one server at a time, and the
# cluster's max_connections (100) is shared by every server's pools and the replication.
POOL = {"pg_pool_min_size": 1, "pg_pool_max_size": 4}
WAIT_S = 30.0  # bound on waiting for a replica to receive a new database (liveness only)


@dataclass(frozen=True)
class ClusterEngines:
    """A running cluster (its state folder and topology) that hands out fresh stores."""

    state_dir: Path
    topology: Topology

    @contextmanager
    def fresh_store(self) -> Iterator[dict[str, Any]]:
        """Settings overrides naming a new, empty store on this cluster; dropped afterwards."""
        name = f"roost_api_{os.getpid()}_{next(_stores)}"
        # A folder of its own: roost keeps the cluster's log beside cluster.toml. The secrets
        # stay the session's, named by absolute path.
        folder = self.state_dir / "stores" / name
        folder.mkdir(parents=True)
        layout = replace(
            self.topology, base=folder,
            postgres=replace(self.topology.postgres, database=name,
                             passfile=str(self.topology.passfile_path.resolve())),
            redis=replace(self.topology.redis,
                          password_file=str(self.topology.redis_password_path.resolve())))
        config = folder / topo.CONFIG_NAME
        topo.save(layout, config)
        self._flush_redis()
        asyncio.run(_create(layout))
        try:
            yield {"cluster_config": str(config), **POOL}
        finally:
            asyncio.run(_drop(layout))
            shutil.rmtree(folder, ignore_errors=True)

    def _flush_redis(self) -> None:
        # One server at a time uses this Redis: nothing of the previous one may leak in.
        with redis_py.Redis(host=self.topology.redis.host, port=self.topology.redis.port,
                            password=self.topology.redis_password()) as client:
            client.flushall()


_stores = itertools.count(1)


async def _create(layout: Topology) -> None:
    for shard in layout.shards:
        await ensure_database(layout, layout.primary(shard))
    # The replicas receive the new database by streaming: wait for it, so that the server
    # does not start with its replica pools failing (which it logs as errors).
    deadline = time.monotonic() + WAIT_S
    for node in layout.nodes:
        while not await _has_database(layout, node):
            if time.monotonic() > deadline:
                raise AssertionError(f"{node.name} did not receive {layout.postgres.database}")
            await asyncio.sleep(0.02)


async def _has_database(layout: Topology, node: PostgresNode) -> bool:
    try:
        conn = await connect(layout, node)
    except asyncpg.InvalidCatalogNameError:
        return False
    await conn.close()
    return True


async def _drop(layout: Topology) -> None:
    name = layout.postgres.database.replace('"', '""')
    for shard in layout.shards:
        conn = await connect(layout, layout.primary(shard), database="postgres")
        try:
            # FORCE: a pooled connection the server has not closed yet must not keep it alive.
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@dataclass(frozen=True)
class Shape:
    """What ``running_server`` needs to know: the shape's name and, on the cluster, its engines."""

    name: str
    engines: ClusterEngines | None = None

    def __str__(self) -> str:
        return self.name


EMBEDDED = Shape("embedded")
