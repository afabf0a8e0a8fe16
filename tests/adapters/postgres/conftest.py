"""A real two-shard PostgreSQL cluster (one streaming replica each, fsync off) for the
PostgreSQL adapter's tests, started through roost.cluster and stopped by PID.

``pg`` runs a coroutine against a freshly opened ``PgDatabase`` on it; each test names its own
tables (``table``), so tests share the cluster without seeing each other's rows.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

# state_root is a fixture: importing it here makes it one for these tests too.
from cluster.conftest import Cluster, state_root, stop_everything, wait_until
from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.nodes import PoolOptions
from roost.cluster import supervisor

T = TypeVar("T")

__all__ = ["Cluster", "state_root", "wait_until"]


@pytest.fixture(scope="session")
def pg_cluster(state_root: Path) -> Iterator[Cluster]:
    state_dir = state_root / "postgres-adapter"
    try:
        yield Cluster(state_dir, supervisor.up(state_dir, shards=2, replicas=1, fsync=False))
    finally:
        stop_everything(state_dir)


async def open_db(cluster: Cluster, *, max_lag: float = 60.0, statement_timeout: float = 10.0,
                  interval: float = 0.05, **options: Any) -> PgDatabase:
    return await PgDatabase.open(
        cluster.topology, logical_shards=64,
        pool=PoolOptions(min_size=1, max_size=4, connect_timeout=3.0,
                         statement_timeout=statement_timeout, **options),
        max_replica_lag_seconds=max_lag, check_interval_seconds=interval)


def run_on(cluster: Cluster, work: Callable[[PgDatabase], Coroutine[Any, Any, T]], **open_options: Any) -> T:
    async def main() -> T:
        db = await open_db(cluster, **open_options)
        try:
            return await work(db)
        finally:
            await db.close()

    return asyncio.run(main())


@pytest.fixture
def table() -> str:
    return f"t_{uuid.uuid4().hex[:12]}"
