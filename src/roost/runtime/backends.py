"""Chooses and opens the adapters behind each port. The only place that names an adapter."""

from __future__ import annotations

from roost.adapters.embedded import MemoryCache, SqliteDatabase, SqliteLog, SqliteTimelineStore
from roost.domain.ids import IdGenerator
from roost.domain.shards import ShardMap
from roost.failpoints import Failpoints
from roost.services.context import Backends
from roost.settings import Settings


def open_embedded(settings: Settings) -> Backends:
    data = settings.data_dir
    shard_map = ShardMap(settings.logical_shards, settings.physical_shards)
    return Backends(
        settings=settings,
        db=SqliteDatabase(data / "shards", shard_map),
        cache=MemoryCache(settings.cache_max_items, settings.cache_ttl_seconds),
        log=SqliteLog(data / "log.sqlite3", settings.log_partitions),
        timelines=SqliteTimelineStore(
            data / "timelines.sqlite3", settings.timeline_max_items, settings.timeline_hot_lists
        ),
        ids=IdGenerator(),
        failpoints=Failpoints(settings.failpoints),
    )


async def close(backends: Backends) -> None:
    await backends.timelines.close()
    await backends.log.close()
    await backends.db.close()
