"""Cache-aside reads: one value by key, or records by id (one multi-get, then the
misses in one query per physical shard).

A miss is rebuilt by one caller at a time per key, across every process sharing
the cache (``Cache.claim``): the others wait briefly for its result instead of
all reading the database at once (a thundering herd on a hot key that expired).
Ids the database does not have are remembered for a short time (tombstones), so
a flood of requests for missing ids does not reach the database either.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Protocol, TypeVar

from roost.domain.ids import now_ms, unix_ms_of
from roost.domain.shards import ShardMap
from roost.domain.versions import Versioned, stamp
from roost.ports.cache import Cache


class Revisioned(Versioned, Protocol):
    """A record whose store raises ``revision`` on every write (services/write_through.py)."""

    id: int
    revision: int


T = TypeVar("T")
R = TypeVar("R", bound=Versioned)
Loader = Callable[[int, list[int]], Awaitable[dict[int, R]]]

# How long a rebuild may hold its key: a holder that dies frees it after this.
CLAIM_SECONDS = 5.0
# How long the others wait for a rebuild before reading the database themselves.
WAIT_SECONDS = 1.0
POLL_SECONDS = 0.005
# Tombstones of missing ids live this long...
ABSENT_SECONDS = 30.0
# ...and only for ids minted this long ago: an id is minted just before its insert
# commits, so a younger one may still appear (a status reads itself back at once).
ABSENT_MIN_AGE_MS = 60_000


async def get_by_ids(
    cache: Cache, kind: str, ids: Iterable[int], shard_map: ShardMap, load: Loader[R], *,
    revisioned: bool = False,
) -> dict[int, R]:
    """Records by id; ``load(physical shard, ids)`` reads the misses of one shard.
    Records read from the database get their version (``roost.domain.versions``).
    ``revisioned``: the kind is written through (services/write_through.py), so a
    fill never replaces a cached copy of a higher revision."""
    # (Concrete types: an isinstance() against an ABC costs more than the lookups.)
    if not isinstance(ids, (list, tuple, set, frozenset, dict)):
        ids = list(ids)
    found: dict[int, R] = await cache.get_records(kind, ids)
    if len(found) == len(ids):
        return found  # every one cached (the common case): nothing more to look at
    missing = [i for i in dict.fromkeys(ids) if i not in found]
    if missing:
        absent = await cache.get_absent(kind, missing)
        if absent:
            missing = [i for i in missing if i not in absent]
    if not missing:
        return found
    keys = {f"{kind}:{i}": i for i in missing}
    claimed = await cache.claim(keys, CLAIM_SECONDS)
    if claimed:
        try:
            found.update(await _load_and_cache(cache, kind, [keys[k] for k in claimed], shard_map, load, revisioned))
        finally:
            await cache.release(claimed)
    waiting = [i for k, i in keys.items() if k not in claimed]
    deadline = time.monotonic() + WAIT_SECONDS
    while waiting:
        # Another caller rebuilds these: wait for its result.
        await asyncio.sleep(POLL_SECONDS)
        found.update(await cache.get_records(kind, waiting))
        waiting = [i for i in waiting if i not in found]
        if waiting:
            absent = await cache.get_absent(kind, waiting)
            waiting = [i for i in waiting if i not in absent]
        if not waiting:
            break
        if time.monotonic() >= deadline:  # the holder is stuck: read them ourselves
            found.update(await _load_and_cache(cache, kind, waiting, shard_map, load, revisioned))
            break
        # Take over the keys whose holder let go without caching anything.
        taken = await cache.claim([f"{kind}:{i}" for i in waiting], CLAIM_SECONDS)
        if taken:
            mine = [i for i in waiting if f"{kind}:{i}" in taken]
            try:
                found.update(await _load_and_cache(cache, kind, mine, shard_map, load, revisioned))
            finally:
                await cache.release(taken)
            waiting = [i for i in waiting if f"{kind}:{i}" not in taken]
    return found


async def _load_and_cache(
    cache: Cache, kind: str, ids: list[int], shard_map: ShardMap, load: Loader[R], revisioned: bool
) -> dict[int, R]:
    by_shard: dict[int, list[int]] = {}
    for record_id in ids:
        by_shard.setdefault(shard_map.physical_for_id(record_id), []).append(record_id)
    fresh: dict[int, R] = {}
    for physical, batch in by_shard.items():
        fresh.update(await load(physical, batch))
    for record in fresh.values():
        stamp(record)
    if fresh and revisioned:
        await cache.set_records_if_newer(kind, fresh)
    elif fresh:
        await cache.set_records(kind, fresh)
    old_enough = now_ms() - ABSENT_MIN_AGE_MS
    gone = [i for i in ids if i not in fresh and unix_ms_of(i) <= old_enough]
    if gone:
        await cache.set_absent(kind, gone, ABSENT_SECONDS)
    return fresh


async def get_or_load(cache: Cache, key: str, load: Callable[[], Awaitable[T]]) -> T:
    """The value cached under ``key``, or else ``load()``'s, cached unless it is None."""
    hit = (await cache.get_many([key])).get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    deadline = time.monotonic() + WAIT_SECONDS
    while not await cache.claim([key], CLAIM_SECONDS):
        if time.monotonic() >= deadline:
            return await _load_one(cache, key, load)  # the holder is stuck: read it ourselves
        await asyncio.sleep(POLL_SECONDS)
        hit = (await cache.get_many([key])).get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
    try:
        return await _load_one(cache, key, load)
    finally:
        await cache.release([key])


async def _load_one(cache: Cache, key: str, load: Callable[[], Awaitable[T]]) -> T:
    value = await load()
    if value is not None:
        await cache.set_many({key: value})
    return value
