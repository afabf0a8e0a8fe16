"""The PostgreSQL family for the contract suites.

One real cluster per session through roost.cluster (2 shards, one streaming replica each,
fsync off), stopped by PID, with one database on every shard, migrated once. Each test
starts on it emptied (every table but schema_migrations truncated, identities restarted:
0.02 s, where copying a fresh database per test took over 1 s with its replicas). A
``cluster.toml`` in the test's folder names it, and every ``open_family`` (each "process"
of the test) opens its own pools from that file, migrates (nothing left to do: the check
still runs) and closes them.

Reads outside a unit of work go to the replicas. The suites state what a client sees
after writing, so every backends of one test shares one read-your-writes token (a client
session across processes): a read goes to a replica that has replayed the test's last
commit on that shard, else to the primary. That is the cluster shape's contract.

Ports other than the database (cache, log, timelines, ids, celebrities) are the embedded
adapters under the test's folder: runtime/backends.py assembles the real cluster shape.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from pathlib import Path

import asyncpg
import pytest

from cluster.conftest import Cluster, state_root, stop_everything, wait_until
from roost.adapters.embedded import MemoryCache, SqliteLog, SqliteTimelineStore
from roost.adapters.embedded.manifest import LOG_FILE, TIMELINES_FILE
from roost.adapters.embedded.shared_state import FileWorkerIdLeases, MemoryCelebritySet
from roost.adapters.postgres.consistency import ReadAfter, lsn_to_int, reading_after
from roost.adapters.postgres.database import COMMIT_POSITION_QUERY, open_postgres
from roost.adapters.postgres.migrations import ALL as PG_MIGRATIONS
from roost.adapters.postgres.repositories import open_repositories
from roost.cluster import supervisor, topology
from roost.cluster.topology import Topology
from roost.domain.ids import IdGenerator
from roost.failpoints import Failpoints
from roost.runtime.backends import WORKERS_DIR, close
from roost.services.context import Backends
from roost.settings import Settings

__all__ = ["PG_MIGRATIONS", "PgContractCluster", "open_postgres_family", "pg_contract_cluster", "state_root"]

STORE = "contract"  # the database the suites run in, on every shard
STORE_CONFIG = "cluster.toml"  # in the test's folder: names the store for open_family
# The rows a migration step inserts: a fresh store has them (a test's TRUNCATE must not drop them).
SEEDS = tuple(sql for step in PG_MIGRATIONS for sql in step.statements if sql.lstrip().upper().startswith("INSERT"))


class SharedReadAfter(ReadAfter):
    """One read-your-writes token for every thread of a test (run_at_once runs its
    "processes" in threads): its updates are compare-and-set under a lock."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def note(self, shard: int, position: int) -> None:
        with self._lock:
            super().note(shard, position)

    def forget_if_replayed(self, shard: int, everywhere: int) -> None:
        with self._lock:
            super().forget_if_replayed(shard, everywhere)


_tokens: dict[Path, SharedReadAfter] = {}


def _settings(root: Path) -> Settings:
    return Settings(data_dir=root, physical_shards=2, logical_shards=64,
                    cluster_config=str(root / STORE_CONFIG), pg_pool_min_size=1, pg_pool_max_size=4)


@asynccontextmanager
async def open_postgres_family(root: Path) -> AsyncIterator[Backends]:
    """Backends on the test's PostgreSQL store (``fresh_store`` made it), migrated."""
    settings = _settings(root)
    db = await open_postgres(settings)
    lease = None
    try:
        await db.migrate(PG_MIGRATIONS)
        lease = FileWorkerIdLeases(root / WORKERS_DIR).acquire_now()
        backends = Backends(
            settings=settings, db=db,
            cache=MemoryCache(settings.cache_max_items, settings.cache_ttl_seconds, None),
            log=SqliteLog(root / LOG_FILE, settings.log_partitions),
            timelines=SqliteTimelineStore(root / TIMELINES_FILE, settings.timeline_max_items,
                                          settings.timeline_hot_lists),
            repos=open_repositories(db), ids=IdGenerator(lease=lease),
            failpoints=Failpoints(settings.failpoints), worker_lease=lease,
            celebrities=MemoryCelebritySet(),
        )
    except BaseException:
        if lease is not None:
            await lease.release()
        await db.close()
        raise
    try:
        with reading_after(_tokens[root]):
            yield backends
    finally:
        await close(backends)


class PgContractCluster:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.topology = _in_database(cluster.topology, STORE)

    def _primaries(self) -> list[topology.PostgresNode]:
        return [self.topology.primary(shard) for shard in self.topology.shards]

    def make_store(self) -> None:
        """The contract database on every shard, migrated once for the session."""
        for node in self._primaries():
            self.cluster.sql(node, f'CREATE DATABASE "{STORE}"')
        for shard in self.topology.shards:  # so the replicas' pools connect at once
            for replica in self.topology.replicas(shard):
                wait_until(lambda r=replica: bool(self.cluster.value(
                    r, "SELECT count(*) FROM pg_database WHERE datname = $1", STORE)), f"{STORE} on {replica.name}")

        async def migrate() -> None:
            db = await open_postgres(Settings(pg_pool_min_size=1, pg_pool_max_size=2), self.topology)
            try:
                await db.migrate(PG_MIGRATIONS)
            finally:
                await db.close()

        asyncio.run(migrate())

    def _empty(self) -> SharedReadAfter:
        """Every table as migrating leaves it (emptied, then the rows migrations insert put
        back), on every primary; returns a token
        holding each primary's position after it, so no read of the next test is answered
        by a replica that still shows the last test's rows."""
        token = SharedReadAfter()

        async def run() -> None:
            for node in self._primaries():
                conn = await asyncpg.connect(self.topology.dsn(node), timeout=10)
                try:
                    tables = [r["name"] for r in await conn.fetch(
                        "SELECT quote_ident(tablename) AS name FROM pg_tables WHERE schemaname = 'public'"
                        " AND tablename <> 'schema_migrations'")]
                    if tables:
                        await conn.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY")
                    for statement in SEEDS:  # and the rows migrating leaves (search_backfill's mark)
                        await conn.execute(statement)
                    token.note(node.shard, lsn_to_int(str(await conn.fetchval(COMMIT_POSITION_QUERY))))
                finally:
                    await conn.close()

        asyncio.run(run())
        return token

    @contextmanager
    def fresh_store(self, root: Path) -> Iterator[None]:
        """The contract database, emptied, for one test (tests run one at a time)."""
        _tokens[root] = self._empty()
        topology.save(self.topology, root / STORE_CONFIG)
        try:
            yield
        finally:
            _tokens.pop(root, None)


def _in_database(layout: Topology, name: str) -> Topology:
    """``layout`` naming database ``name``, its password file by absolute path (each
    test's config lives in another folder than the cluster's secrets)."""
    settings = replace(layout.postgres, database=name, passfile=str(layout.passfile_path.resolve()))
    return replace(layout, postgres=settings)


@pytest.fixture(scope="session")
def pg_contract_cluster(state_root: Path) -> Iterator[PgContractCluster]:
    state_dir = state_root / "contract-postgres"
    try:
        cluster = PgContractCluster(
            Cluster(state_dir, supervisor.up(state_dir, shards=2, replicas=1, fsync=False)))
        cluster.make_store()
        yield cluster
    finally:
        stop_everything(state_dir)
