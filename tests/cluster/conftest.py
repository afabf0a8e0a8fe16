"""Real engines for the cluster tests: clusters in temporary state folders on spare loopback ports.

Every cluster is stopped by the PIDs its state folder recorded, even when a test or ``up`` fails.
They skip only when the engines are absent; ``make test`` installs them first (``make engines``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from roost.cluster import binaries, processes, supervisor
from roost.cluster.layout import StateDir
from roost.cluster.topology import PostgresNode, Topology

WAIT_S = 30.0  # bound on every wait for replication or a restart: liveness, never a figure


@dataclass
class Cluster:
    state_dir: Path
    topology: Topology

    @property
    def state(self) -> StateDir:
        return StateDir(self.state_dir)

    def pid(self, name: str) -> processes.ProcessRecord:
        return self.state.read_pids()[name]

    def sql(self, node: PostgresNode, query: str, *args: Any) -> list[asyncpg.Record]:
        async def run() -> list[asyncpg.Record]:
            conn = await asyncpg.connect(self.topology.dsn(node), timeout=10)
            try:
                return list(await conn.fetch(query, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def value(self, node: PostgresNode, query: str, *args: Any) -> Any:
        return self.sql(node, query, *args)[0][0]


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:.0f} s waiting for {what}")
        time.sleep(0.05)


def replayed(cluster: Cluster, replica: PostgresNode, lsn: str) -> bool:
    return bool(cluster.value(replica, "SELECT pg_last_wal_replay_lsn() >= $1::text::pg_lsn", lsn))


def stop_everything(state_dir: Path) -> None:
    try:
        supervisor.down(state_dir)
    finally:  # whatever down could not stop (or a broken state folder): SIGKILL by recorded PID
        for record in StateDir(state_dir).read_pids().values():
            processes.stop(record, signal.SIGKILL, 10)


@pytest.fixture(scope="session")
def state_root() -> Iterator[Path]:
    missing = binaries.missing_engines()
    if missing:
        pytest.skip("cluster engines absent and not installed (`make engines` installs them): "
                    + "; ".join(missing))
    # Not pytest's tmp_path: its folders are closed to other users, and PostgreSQL runs as
    # `postgres` when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="roost-cluster-"))
    root.chmod(0o711)
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def cluster(state_root: Path) -> Iterator[Cluster]:
    """One primary, one replica and Redis, shared by the tests that leave it as they found it."""
    state_dir = state_root / "shared"
    try:
        yield Cluster(state_dir, supervisor.up(state_dir, shards=1, replicas=1, fsync=False))
    finally:
        stop_everything(state_dir)


@pytest.fixture
def primary(cluster: Cluster) -> PostgresNode:
    return cluster.topology.primary(0)


@pytest.fixture
def replica(cluster: Cluster) -> PostgresNode:
    return cluster.topology.replicas(0)[0]


@pytest.fixture(scope="session")
def roost_cluster(state_root: Path) -> Iterator[Cluster]:
    """Two shards with a replica each and Redis, migrated for roost (fsync off): the cluster
    shape's API tests run in-process servers on it, each with accounts of its own."""
    with migrated_cluster(state_root / "roost-shape", shards=2, replicas=1) as cluster:
        yield cluster


@contextlib.contextmanager
def migrated_cluster(state_dir: Path, *, shards: int, replicas: int) -> Iterator[Cluster]:
    """A new cluster (fsync off) with roost's schema, stopped by PID at the end."""
    from roost.cluster import roost_processes

    try:
        cluster = Cluster(state_dir, supervisor.up(state_dir, shards=shards, replicas=replicas, fsync=False))
        roost_processes.migrate(cluster.state.config)
        yield cluster
    finally:
        stop_everything(state_dir)
