"""Cache-aside reads by id: one multi-get, then the misses in one query per physical shard."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from roost.domain.shards import ShardMap
from roost.ports.cache import Cache

T = TypeVar("T")
Loader = Callable[[int, list[int]], Awaitable[dict[int, T]]]


async def get_by_ids(
    cache: Cache, prefix: str, ids: Iterable[int], shard_map: ShardMap, load: Loader[T]
) -> dict[int, T]:
    """Records by id; ``load(physical shard, ids)`` reads the misses of one shard."""
    wanted = list(dict.fromkeys(ids))
    keys = [prefix + str(i) for i in wanted]
    cached = await cache.get_many(keys)
    found: dict[int, T] = {}
    missing: dict[int, list[int]] = {}
    for record_id, key in zip(wanted, keys, strict=True):
        hit = cached.get(key)
        if hit is not None:
            found[record_id] = hit
        else:
            missing.setdefault(shard_map.physical_for_id(record_id), []).append(record_id)
    if missing:
        fresh: dict[str, Any] = {}
        for physical, batch in missing.items():
            for record_id, record in (await load(physical, batch)).items():
                found[record_id] = record
                fresh[prefix + str(record_id)] = record
        if fresh:
            await cache.set_many(fresh)
    return found
