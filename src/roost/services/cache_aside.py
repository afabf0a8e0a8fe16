"""Cache-aside reads: one value by key, or records by id (one multi-get, then the
misses in one query per physical shard)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from roost.domain.shards import ShardMap
from roost.ports.cache import Cache

T = TypeVar("T")
Loader = Callable[[int, list[int]], Awaitable[dict[int, T]]]


async def get_by_ids(
    cache: Cache, kind: str, ids: Iterable[int], shard_map: ShardMap, load: Loader[T]
) -> dict[int, T]:
    """Records by id; ``load(physical shard, ids)`` reads the misses of one shard."""
    # (Concrete types: an isinstance() against an ABC costs more than the lookups.)
    if not isinstance(ids, (list, tuple, set, frozenset, dict)):
        ids = list(ids)
    found: dict[int, T] = await cache.get_records(kind, ids)
    if len(found) == len(ids):
        return found  # every one cached (the common case): nothing more to look at
    missing: dict[int, list[int]] = {}
    for record_id in dict.fromkeys(ids):
        if record_id not in found:
            missing.setdefault(shard_map.physical_for_id(record_id), []).append(record_id)
    if missing:
        fresh: dict[int, Any] = {}
        for physical, batch in missing.items():
            fresh.update(await load(physical, batch))
        found.update(fresh)
        if fresh:
            await cache.set_records(kind, fresh)
    return found


async def get_or_load(cache: Cache, key: str, load: Callable[[], Awaitable[T]]) -> T:
    """The value cached under ``key``, or else ``load()``'s, cached unless it is None."""
    hit = (await cache.get_many([key])).get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    value = await load()
    if value is not None:
        await cache.set_many({key: value})
    return value
