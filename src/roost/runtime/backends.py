"""Chooses and opens the adapters behind each port. The only place that names an adapter."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from prometheus_client.registry import Collector

from roost.adapters.embedded import MemoryCache, SqliteDatabase, SqliteLog, SqliteTimelineStore
from roost.adapters.embedded.manifest import LOG_FILE, SHARDS_DIR, TIMELINES_FILE, open_data_dir
from roost.adapters.embedded.migrations import ALL as EMBEDDED_MIGRATIONS
from roost.adapters.embedded.readiness import ProbeTarget, StorageReadiness
from roost.adapters.embedded.repositories import open_repositories
from roost.adapters.embedded.shared_state import FileWorkerIdLeases, MemoryCelebritySet
from roost.domain.ids import IdGenerator
from roost.failpoints import Failpoints
from roost.ports.database import Migration, ShardedDatabase
from roost.runtime.counters import use_counter_policy
from roost.runtime.placement import open_placement
from roost.runtime.read_your_writes import ReadYourWrites
from roost.runtime.shared_redis import open_shared_redis, use_redis
from roost.services.cache_codecs import CODECS
from roost.services.context import Backends
from roost.services.status_counters import WRITE_BACK
from roost.settings import Settings

# The embedded family's schema steps; ``migrations_for`` gives the opened family's.
MIGRATIONS = EMBEDDED_MIGRATIONS
WORKERS_DIR = "workers"  # worker-id lock files (adapters/embedded/shared_state.py)


def check_data_dir(settings: Settings) -> str:
    """Verify (or set up) the data directory before anything opens a file in it.
    Raises StorageIntegrityError when roost must not start on it."""
    problem = open_data_dir(settings.data_dir, settings.logical_shards, settings.physical_shards)
    open_placement(settings)  # a bad placement setting or table refuses the start here too
    return problem


def open_embedded(settings: Settings) -> Backends:
    data = settings.data_dir
    check_data_dir(settings)
    placement = open_placement(settings)
    db = SqliteDatabase(data / SHARDS_DIR, placement.shard_map)
    # Every process on this data directory (the server, `roost` commands) mints ids
    # under a worker id of its own.
    lease = FileWorkerIdLeases(data / WORKERS_DIR).acquire_now()
    return Backends(
        settings=settings,
        db=db,
        cache=MemoryCache(
            settings.cache_max_items, settings.cache_ttl_seconds, CODECS if settings.cache_encode else None
        ),
        log=SqliteLog(data / LOG_FILE, settings.log_partitions),
        timelines=SqliteTimelineStore(
            data / TIMELINES_FILE, settings.timeline_max_items, settings.timeline_hot_lists
        ),
        repos=open_repositories(db),
        ids=IdGenerator(lease=lease),
        failpoints=Failpoints(settings.failpoints),
        placement=placement,
        worker_lease=lease,
        celebrities=MemoryCelebritySet(),
    )


def storage_readiness(backends: Backends) -> StorageReadiness | None:
    """Write probes for every embedded file, or None for backends that are not embedded."""
    db, log, timelines = backends.db, backends.log, backends.timelines
    if not (isinstance(db, SqliteDatabase) and isinstance(log, SqliteLog)):
        return None
    targets = [ProbeTarget(f"{SHARDS_DIR}/{s.path.name}", s.probe, s.faults) for s in db.shards]
    targets.append(ProbeTarget(LOG_FILE, log.probe, log.faults))
    if isinstance(timelines, SqliteTimelineStore):  # not when they live on Redis
        targets.append(ProbeTarget(TIMELINES_FILE, timelines.probe, timelines.faults))
    settings = backends.settings
    return StorageReadiness(settings.data_dir, targets, settings.min_free_disk_bytes, settings.ready_cache_seconds)


async def close(backends: Backends) -> None:
    if backends.counters is not None:
        await backends.counters.close()  # write-back: flush what is pending while the database is open
    await backends.timelines.close()
    await backends.log.close()
    await backends.db.close()
    if backends.worker_lease is not None:
        await backends.worker_lease.release()
    for closer in backends.on_close:
        await closer()


# -- the cluster shape (issue #9) ----------------------------------------------------------
# PostgreSQL shards with replicas, the entity cache, home timelines and shared state on Redis.
# The log stays the embedded SqliteLog, in a folder beside cluster.toml that every roost process
# of the cluster opens (SQLite appends safely from several processes; one process runs the
# consumers): a partitioned log server (Kafka) is issue #10.
CLUSTER_LOG_DIR = "roost"


@dataclass
class Opened:
    """The chosen family's backends and what the gateway uses of them besides."""

    backends: Backends
    # /ready's storage checks (None: /ready pings the database).
    readiness: Any = None
    # Read-your-writes tokens shared by every process (None: no replicas to lag behind).
    read_your_writes: ReadYourWrites | None = None
    # Extra collectors for /metrics (replication lag, read-your-writes counters).
    collectors: list[Collector] = field(default_factory=list)


def migrations_for(db: ShardedDatabase) -> Sequence[Migration]:
    """The schema steps of ``db``'s family (``roost migrate``, and the start-up check)."""
    from roost.adapters.postgres import PgDatabase

    if isinstance(db, PgDatabase):
        from roost.adapters.postgres.migrations import ALL as POSTGRES_MIGRATIONS

        return POSTGRES_MIGRATIONS
    return EMBEDDED_MIGRATIONS


async def open_backends(settings: Settings) -> Opened:
    """The cluster shape when ``cluster_config`` names a cluster.toml, else the embedded one
    (with its shared state on Redis when ``redis_url`` is set)."""
    if settings.cluster_config:
        return await open_cluster(settings)
    backends = open_embedded(settings)
    try:
        if settings.redis_url:
            await use_redis(backends)
        else:
            use_counter_policy(backends, None)  # write_back refuses: its deltas live in Redis
    except BaseException:
        await close(backends)
        raise
    return Opened(backends, readiness=storage_readiness(backends))


def cluster_log_dir(settings: Settings) -> Path:
    return Path(settings.cluster_config).resolve().parent / CLUSTER_LOG_DIR


async def open_cluster(settings: Settings) -> Opened:
    from roost.adapters.postgres import PgMetrics, open_postgres
    from roost.adapters.postgres.repositories import open_repositories as open_pg_repositories
    from roost.adapters.redis.cache import RedisCache
    from roost.adapters.redis.cache import connect as connect_cache
    from roost.cluster import topology as cluster_topology
    from roost.runtime.cluster_health import ClusterReadiness, ReadYourWritesMetrics
    from roost.runtime.read_your_writes import ttl_seconds

    topology = cluster_topology.load(Path(settings.cluster_config))
    log_dir = cluster_log_dir(settings)
    # The cluster's shards are the physical shards; a directory placement's table lives beside
    # cluster.toml, shared by every process.
    settings = replace(settings, physical_shards=len(topology.shards),
                       placement_directory=settings.placement_directory or str(log_dir / "shard-directory.json"))
    placement = open_placement(settings)
    redis_url = settings.redis_url or topology.redis_url()
    password = None if settings.redis_url else topology.redis_password()
    shared = await open_shared_redis(settings, redis_url, password)
    closers = [shared.lease.release, shared.client.aclose]
    try:
        db = await open_postgres(settings, topology)
        db.shard_map = placement.shard_map
        closers.insert(0, db.close)
        cache = RedisCache(connect_cache(redis_url, password), CODECS, settings.cache_ttl_seconds)
        closers.append(cache.close)
        log = SqliteLog(log_dir / LOG_FILE, settings.log_partitions)
    except BaseException:
        for closer in closers:
            await closer()
        raise
    backends = Backends(
        settings=settings, db=db, cache=cache, log=log, timelines=shared.timelines,
        repos=open_pg_repositories(db), ids=IdGenerator(lease=shared.lease),
        failpoints=Failpoints(settings.failpoints), placement=placement, worker_lease=shared.lease,
        celebrities=shared.celebrities, rate_limits=shared.rate_limits,
        on_close=[cache.close, shared.client.aclose])
    try:
        # Hot counters are written back in batches here (issue #9), unless the settings say otherwise.
        use_counter_policy(backends, shared.client, default=WRITE_BACK)
    except BaseException:
        await close(backends)
        raise
    readiness = ClusterReadiness(db, shared.client, log, log_dir, timeout=settings.pg_connect_timeout_seconds,
                                 min_free_bytes=settings.min_free_disk_bytes,
                                 cache_seconds=settings.ready_cache_seconds)
    opened = Opened(backends, readiness=readiness, collectors=[PgMetrics(db)])
    if any(shard.replicas for shard in db.shards):
        opened.read_your_writes = ReadYourWrites(shared.client, ttl_seconds(settings))
        opened.collectors.append(ReadYourWritesMetrics(opened.read_your_writes))
    return opened


async def open_database(settings: Settings) -> tuple[ShardedDatabase, Callable[[], Awaitable[None]]]:
    """The chosen family's database alone (``roost migrate`` and the schema check), and how to
    close it."""
    if settings.cluster_config:
        from roost.adapters.postgres import open_postgres

        db = await open_postgres(settings)
        return db, db.close
    backends = open_embedded(settings)

    async def closer() -> None:
        await close(backends)

    return backends.db, closer
