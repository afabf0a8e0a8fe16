"""MemoryCache against the Cache port: TTL expiry, LRU eviction, counters."""

from __future__ import annotations

import asyncio
import time

from roost.adapters.embedded.cache import MemoryCache
from roost.ports.cache import Cache


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_implements_the_port() -> None:
    cache: Cache = MemoryCache()
    assert callable(cache.get_many) and callable(cache.set_many) and callable(cache.delete)


def test_get_set_delete_and_counters() -> None:
    async def body() -> None:
        cache = MemoryCache()
        await cache.set_many({"a": 1, "b": {"x": [1, 2]}})
        assert await cache.get_many(["a", "b", "c"]) == {"a": 1, "b": {"x": [1, 2]}}
        await cache.delete("a", "never-there")
        assert await cache.get_many(["a"]) == {}
        assert cache.stats() == {"hits": 2, "misses": 2, "evictions": 0, "size": 1}

    run(body())


def test_falsy_values_are_cached_values() -> None:
    async def body() -> None:
        cache = MemoryCache()
        await cache.set_many({"zero": 0, "empty": [], "none": None})
        assert await cache.get_many(["zero", "empty", "none"]) == {"zero": 0, "empty": [], "none": None}

    run(body())


def test_ttl_expiry() -> None:
    async def body() -> None:
        cache = MemoryCache(default_ttl=60)
        await cache.set_many({"gone": 1}, ttl=-1)  # already expired
        await cache.set_many({"short": 2}, ttl=0.05)
        await cache.set_many({"long": 3})
        assert await cache.get_many(["gone", "short", "long"]) == {"short": 2, "long": 3}
        time.sleep(0.08)
        assert await cache.get_many(["short", "long"]) == {"long": 3}
        assert cache.stats()["size"] == 1  # expired entries are dropped when met

    run(body())


def test_default_ttl_applies() -> None:
    async def body() -> None:
        cache = MemoryCache(default_ttl=0.05)
        await cache.set_many({"k": 1})
        assert await cache.get_many(["k"]) == {"k": 1}
        time.sleep(0.08)
        assert await cache.get_many(["k"]) == {}

    run(body())


def test_setting_again_refreshes_value_and_ttl() -> None:
    async def body() -> None:
        cache = MemoryCache()
        await cache.set_many({"k": 1}, ttl=-1)
        await cache.set_many({"k": 2}, ttl=60)
        assert await cache.get_many(["k"]) == {"k": 2}

    run(body())


def test_lru_evicts_the_least_recently_used() -> None:
    async def body() -> None:
        cache = MemoryCache(max_items=3)
        await cache.set_many({"a": 1, "b": 2, "c": 3})
        assert await cache.get_many(["a"]) == {"a": 1}  # a is now the most recent
        await cache.set_many({"d": 4})
        assert await cache.get_many(["a", "b", "c", "d"]) == {"a": 1, "c": 3, "d": 4}
        await cache.set_many({"c": 30})  # re-setting also counts as use
        await cache.set_many({"e": 5})
        assert set(await cache.get_many(["a", "c", "d", "e"])) == {"c", "d", "e"}
        stats = cache.stats()
        assert stats["evictions"] == 2 and stats["size"] == 3

    run(body())


def test_batch_larger_than_capacity_keeps_the_last_items() -> None:
    async def body() -> None:
        cache = MemoryCache(max_items=2)
        await cache.set_many({str(i): i for i in range(5)})
        assert await cache.get_many([str(i) for i in range(5)]) == {"3": 3, "4": 4}
        assert cache.stats()["evictions"] == 3

    run(body())
