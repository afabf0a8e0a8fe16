"""Chooses and opens the adapters behind each port. The only place that names an adapter."""

from __future__ import annotations

from roost.adapters.embedded import MemoryCache, SqliteDatabase, SqliteLog, SqliteTimelineStore
from roost.adapters.embedded.manifest import LOG_FILE, SHARDS_DIR, TIMELINES_FILE, open_data_dir
from roost.adapters.embedded.migrations import ALL as EMBEDDED_MIGRATIONS
from roost.adapters.embedded.readiness import ProbeTarget, StorageReadiness
from roost.adapters.embedded.repositories import open_repositories
from roost.adapters.embedded.shared_state import FileWorkerIdLeases, MemoryCelebritySet
from roost.domain.ids import IdGenerator
from roost.failpoints import Failpoints
from roost.runtime.placement import open_placement
from roost.services.cache_codecs import CODECS
from roost.services.context import Backends
from roost.settings import Settings

# The schema steps of the family roost opens (``roost migrate`` and ``roost up`` apply them).
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
