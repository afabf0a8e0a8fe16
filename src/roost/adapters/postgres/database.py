"""PostgreSQL shards: each physical shard a primary with streaming replicas, a pool per node.

Writes and units of work run on the primary. Reads outside a unit of work go to a replica
within ``max_replica_lag_seconds`` of its primary, unless the caller's ``ReadAfter`` token
(consistency.py) holds a commit position on this shard that no such replica has replayed:
then to the primary. A replica that fails a read is set aside until the monitor sees it
answer again, and the read is retried on the primary (reads change nothing).

Every call classifies the driver's failures (faults.py): a node that is down gives 503 with
Retry-After, a unique violation ``Conflict``. SQL uses the SQL adapters' ``?`` placeholders,
numbered for PostgreSQL once per statement text (sql.py).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import asyncpg

from roost.adapters.postgres.consistency import ReadAfter, current, lsn_to_int
from roost.adapters.postgres.faults import FaultRecord, fault_kind
from roost.adapters.postgres.nodes import PgNode, PoolOptions, close_pool, open_pool
from roost.adapters.postgres.replication import ReplicationMonitor, ShardLag
from roost.adapters.postgres.sql import rowcount, to_dollar
from roost.cluster import topology as cluster_topology
from roost.cluster.topology import Topology
from roost.domain.shards import ShardMap
from roost.ports.database import Migration, Params, Row, Tx
from roost.settings import Settings

# Where a commit's record ends (or later): what a replica must have replayed to show it.
COMMIT_POSITION_QUERY = "SELECT pg_current_wal_insert_lsn()::text"
# pg_advisory_lock key serialising migrators on one database ("roost" + "mig" in ASCII).
MIGRATION_LOCK_KEY = 0x726F6F73_6D6967
SCHEMA_MIGRATIONS = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " component TEXT NOT NULL, version INTEGER NOT NULL,"
    " applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),"
    " PRIMARY KEY (component, version))"
)
# Failures of a replica read after which the primary is asked instead.
_RETRY_ON_PRIMARY = frozenset({"down", "busy", "retry"})
CLOSE_TIMEOUT_S = 10.0


class PgExecutor:
    """Statements on one connection (inside a unit of work: the ``Tx`` repositories get)."""

    __slots__ = ("_conn", "faults", "shard")

    def __init__(self, conn: asyncpg.Connection, faults: FaultRecord, shard: int) -> None:
        self._conn = conn
        self.faults = faults
        self.shard = shard

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        try:
            return cast(list[Row], await self._conn.fetch(to_dollar(sql), *params))
        except Exception as exc:
            self.faults.raise_for(exc)

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        try:
            return cast(Row | None, await self._conn.fetchrow(to_dollar(sql), *params))
        except Exception as exc:
            self.faults.raise_for(exc)

    async def execute(self, sql: str, params: Params = ()) -> int:
        try:
            return rowcount(await self._conn.execute(to_dollar(sql), *params))
        except Exception as exc:
            self.faults.raise_for(exc)

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        try:
            await self._conn.executemany(to_dollar(sql), rows)
        except Exception as exc:
            self.faults.raise_for(exc)


def executor_of(tx: Tx) -> PgExecutor:
    """The PostgreSQL executor behind a ``Tx`` (for this family's repositories only)."""
    if not isinstance(tx, PgExecutor):
        raise TypeError(f"not a PostgreSQL unit of work: {type(tx).__name__}")
    return tx


class PgShard:
    """One physical shard: its primary and replicas."""

    def __init__(self, index: int, primary: PgNode, replicas: Sequence[PgNode],
                 max_replica_lag_seconds: float) -> None:
        self.index = index
        self.primary = primary
        self.replicas = list(replicas)
        self.lag = ShardLag(primary, self.replicas)
        self.max_replica_lag_seconds = max_replica_lag_seconds
        self._turn = 0
        # Reads sent to the primary because the caller's own write was on no usable replica yet.
        self.read_your_writes_on_primary = 0

    # -- reads ---------------------------------------------------------------------------

    def reader(self) -> PgNode:
        """The node a read outside a unit of work goes to now."""
        token = current.get()
        needed = token.needs(self.index) if token is not None else None
        if needed is not None and token is not None:
            everywhere = self.lag.replayed_everywhere()
            if everywhere is not None and everywhere >= needed:
                token.forget_if_replayed(self.index, everywhere)
                needed = None
        count = len(self.replicas)
        for step in range(count):
            replica = self.replicas[(self._turn + step) % count]
            if not replica.usable(self.max_replica_lag_seconds):
                continue
            if needed is not None and (replica.replay is None or replica.replay < needed):
                continue
            self._turn = (self._turn + step + 1) % count
            return replica
        if needed is not None:
            self.read_your_writes_on_primary += 1
        return self.primary

    async def _read(self, method: str, sql: str, params: Params) -> Any:
        node = self.reader()
        node.reads += 1
        try:
            async with node.pool.acquire(timeout=node.acquire_timeout) as conn:
                result = await getattr(conn, method)(to_dollar(sql), *params)
        except Exception as exc:
            if node is self.primary or fault_kind(exc) not in _RETRY_ON_PRIMARY:
                node.faults.raise_for(exc)
            node.faults.record(fault_kind(exc) or "down", f"{type(exc).__name__}: {exc}")
            node.mark_unreachable()
            return await self._on_primary(method, sql, params)
        return result

    async def _on_primary(self, method: str, sql: str, params: Params) -> Any:
        primary = self.primary
        primary.reads += 1
        try:
            async with primary.pool.acquire(timeout=primary.acquire_timeout) as conn:
                return await getattr(conn, method)(to_dollar(sql), *params)
        except Exception as exc:
            primary.faults.raise_for(exc)

    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]:
        return cast(list[Row], await self._read("fetch", sql, params))

    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None:
        return cast(Row | None, await self._read("fetchrow", sql, params))

    # -- writes --------------------------------------------------------------------------

    async def execute(self, sql: str, params: Params = ()) -> int:
        """One statement on the primary, committed on its own (no BEGIN/COMMIT round trips)."""
        primary = self.primary
        try:
            async with primary.pool.acquire(timeout=primary.acquire_timeout) as conn:
                status = await conn.execute(to_dollar(sql), *params)
                token = current.get()
                if token is not None:
                    await self._note_commit(conn, token)
        except Exception as exc:
            primary.faults.raise_for(exc)
        primary.faults.succeeded()
        return rowcount(status)

    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None:
        async with self.transaction() as tx:
            await tx.execute_many(sql, rows)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[PgExecutor]:
        """A unit of work on the primary: commits on exit, rolls back on error. After the
        commit, the caller's ``ReadAfter`` token (if any) learns the commit's position."""
        primary = self.primary
        try:
            conn = await primary.pool.acquire(timeout=primary.acquire_timeout)
        except Exception as exc:
            primary.faults.raise_for(exc)
        try:
            transaction = conn.transaction()
            try:
                await transaction.start()
            except Exception as exc:
                primary.faults.raise_for(exc)
            try:
                yield PgExecutor(conn, primary.faults, self.index)
            except BaseException:
                # A rollback that fails too (the connection is gone) must not hide the
                # first error; the server rolls back a transaction whose session ended.
                with contextlib.suppress(Exception):
                    await transaction.rollback()
                raise
            try:
                await transaction.commit()
            except Exception as exc:
                primary.faults.raise_for(exc)
            token = current.get()
            if token is not None:
                await self._note_commit(conn, token)
        finally:
            await _release(primary.pool, conn)
        primary.faults.succeeded()

    async def _note_commit(self, conn: asyncpg.Connection, token: ReadAfter) -> None:
        try:
            position = await conn.fetchval(COMMIT_POSITION_QUERY)
        except Exception as exc:
            # The commit stands; only its position is unknown. Read this shard from the
            # primary from now on rather than risk missing the write.
            self.primary.faults.record(fault_kind(exc) or "down", f"{type(exc).__name__}: {exc}")
            token.note(self.index, 2**63 - 1)
            return
        token.note(self.index, lsn_to_int(str(position)))

    async def explain(self, sql: str, params: Params = ()) -> list[str]:
        """PostgreSQL's plan for ``sql`` (on the primary), one line per plan line."""
        primary = self.primary
        try:
            async with primary.pool.acquire(timeout=primary.acquire_timeout) as conn:
                rows = await conn.fetch("EXPLAIN " + to_dollar(sql), *params)
        except Exception as exc:
            primary.faults.raise_for(exc)
        return [str(row[0]) for row in rows]

    @property
    def nodes(self) -> list[PgNode]:
        return [self.primary, *self.replicas]


class PgDatabase:
    """The cluster config's shards, addressed through a ShardMap (``open`` makes one)."""

    def __init__(self, topology: Topology, shard_map: ShardMap, shards: Sequence[PgShard],
                 monitor: ReplicationMonitor) -> None:
        self.topology = topology
        self.shard_map = shard_map
        self._shards = list(shards)
        self.monitor = monitor

    @classmethod
    async def open(cls, topology: Topology, *, logical_shards: int, pool: PoolOptions,
                   max_replica_lag_seconds: float, check_interval_seconds: float) -> PgDatabase:
        shard_map = ShardMap(logical_shards, len(topology.shards))

        async def node(n: cluster_topology.PostgresNode) -> PgNode:
            return PgNode(name=n.name, shard=n.shard, role=n.role,
                          pool=await open_pool(topology, n, pool), faults=FaultRecord(n.name),
                          acquire_timeout=pool.connect_timeout)

        shards = []
        for index in topology.shards:
            primary = await node(topology.primary(index))
            replicas = [await node(r) for r in topology.replicas(index)]
            shards.append(PgShard(index, primary, replicas, max_replica_lag_seconds))
        monitor = ReplicationMonitor([s.lag for s in shards], check_interval_seconds,
                                     timeout=pool.connect_timeout)
        await monitor.check()  # know the replicas before the first read
        monitor.start()
        return cls(topology, shard_map, shards, monitor)

    @property
    def shards(self) -> Sequence[PgShard]:
        return self._shards

    def for_id(self, snowflake: int) -> PgShard:
        return self._shards[self.shard_map.physical_for_id(snowflake)]

    def for_key(self, key: str | int) -> PgShard:
        return self._shards[self.shard_map.physical_for_key(key)]

    def for_logical(self, logical: int) -> PgShard:
        return self._shards[self.shard_map.physical_for_logical(logical)]

    async def migrate(self, migrations: Sequence[Migration]) -> list[tuple[int, Migration]]:
        """Apply what is not yet applied, per shard, under a lock every migrator takes: two
        processes migrating at once apply each step once. Each step is one transaction.
        Returns the (shard, step) pairs this call applied."""
        applied: list[tuple[int, Migration]] = []
        for shard in self._shards:
            applied += [(shard.index, step) for step in await _migrate_shard(shard, migrations)]
        return applied

    async def unapplied(self, migrations: Sequence[Migration]) -> list[tuple[int, Migration]]:
        """The (shard, step) pairs not yet applied: a process that does not migrate refuses
        to start on a store that is behind."""
        missing: list[tuple[int, Migration]] = []
        for shard in self._shards:
            done = await _applied_steps(shard)
            missing += [(shard.index, m) for m in sorted(migrations, key=lambda m: (m.component, m.version))
                        if (m.component, m.version) not in done]
        return missing

    async def ping(self) -> None:
        for shard in self._shards:
            async with shard.transaction() as tx:
                await tx.fetch_one("SELECT 1")

    async def close(self) -> None:
        await self.monitor.stop()
        await asyncio.gather(*(close_pool(n.pool, CLOSE_TIMEOUT_S)
                               for s in self._shards for n in s.nodes))


async def _release(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    # asyncpg closes a connection it cannot reset; nothing of that may mask the caller's outcome.
    with contextlib.suppress(Exception):
        await pool.release(conn)


async def _applied_steps(shard: PgShard) -> set[tuple[str, int]]:
    primary = shard.primary
    try:
        async with primary.pool.acquire(timeout=primary.acquire_timeout) as conn:
            exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
            if not exists:
                return set()
            return {(r["component"], r["version"])
                    for r in await conn.fetch("SELECT component, version FROM schema_migrations")}
    except Exception as exc:
        primary.faults.raise_for(exc)


async def _migrate_shard(shard: PgShard, migrations: Sequence[Migration]) -> list[Migration]:
    primary = shard.primary
    applied: list[Migration] = []
    try:
        async with primary.pool.acquire(timeout=primary.acquire_timeout) as conn:
            # A session lock: released by unlock, or by the server if this process dies.
            await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
            try:
                await conn.execute(SCHEMA_MIGRATIONS)
                done = {(r["component"], r["version"])
                        for r in await conn.fetch("SELECT component, version FROM schema_migrations")}
                for step in sorted(migrations, key=lambda m: (m.component, m.version)):
                    if (step.component, step.version) in done:
                        continue
                    async with conn.transaction():
                        for statement in step.statements:
                            await conn.execute(statement)
                        await conn.execute(
                            "INSERT INTO schema_migrations (component, version) VALUES ($1, $2)",
                            step.component, step.version)
                    applied.append(step)
            finally:
                with contextlib.suppress(Exception):
                    await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)
    except Exception as exc:
        primary.faults.raise_for(exc)
    return applied


def pool_options(settings: Settings) -> PoolOptions:
    return PoolOptions(min_size=settings.pg_pool_min_size, max_size=settings.pg_pool_max_size,
                       connect_timeout=settings.pg_connect_timeout_seconds,
                       statement_timeout=settings.pg_statement_timeout_seconds)


async def open_postgres(settings: Settings, topology: Topology | None = None) -> PgDatabase:
    """The seam for runtime/backends.py: the cluster shape's database from the settings
    (``cluster_config`` names the cluster.toml; its shards are the physical shards)."""
    if topology is None:
        if not settings.cluster_config:
            raise ValueError("cluster_config (ROOST_CLUSTER_CONFIG) names no cluster.toml")
        topology = cluster_topology.load(Path(settings.cluster_config))
    return await PgDatabase.open(
        topology, logical_shards=settings.logical_shards, pool=pool_options(settings),
        max_replica_lag_seconds=settings.max_replica_lag_seconds,
        check_interval_seconds=settings.replica_check_interval_seconds)
