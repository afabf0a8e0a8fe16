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
        # Recency is approximate: which of a and d (both read last while young) goes is not fixed.
        kept = set(await cache.get_many(["a", "c", "d", "e"]))
        assert {"c", "e"} <= kept and len(kept) == 3
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


def test_records_live_in_their_own_kind() -> None:
    async def body() -> None:
        cache = MemoryCache()
        await cache.set_records("s", {1: "status one", 2: "status two"})
        await cache.set_records("a", {1: "account one"})
        await cache.set_many({"1": "plain"})
        assert await cache.get_records("s", [1, 2, 3]) == {1: "status one", 2: "status two"}
        assert await cache.get_records("a", [1, 2]) == {1: "account one"}
        assert await cache.get_records("never-set", [1]) == {}
        assert await cache.get_many(["1"]) == {"1": "plain"}
        await cache.delete_records("s", 1, 99)
        await cache.delete_records("never-set", 1)
        assert await cache.get_records("s", [1, 2]) == {2: "status two"}
        assert cache.stats()["size"] == 3

    run(body())


def test_records_expire_and_evict_with_the_rest() -> None:
    async def body() -> None:
        cache = MemoryCache(max_items=3)
        await cache.set_records("s", {1: "a"}, ttl=-1)
        assert await cache.get_records("s", [1]) == {}
        assert cache.stats()["size"] == 0
        await cache.set_many({"old": 1})
        await cache.set_records("s", {2: "b", 3: "c"})
        await cache.set_records("a", {4: "d"})  # over capacity: the oldest of all goes
        assert await cache.get_many(["old"]) == {}
        assert await cache.get_records("s", [2, 3]) == {2: "b", 3: "c"}
        await cache.set_records("a", {5: "e"})  # 2 and 3 were just read: 4 is now the oldest
        assert await cache.get_records("s", [2, 3]) == {2: "b", 3: "c"}
        assert await cache.get_records("a", [4, 5]) == {5: "e"}
        assert cache.stats() == {"hits": 5, "misses": 3, "evictions": 2, "size": 3}

    run(body())


def test_hot_entries_survive_a_stream_of_new_ones() -> None:
    async def body() -> None:
        cache = MemoryCache(max_items=100)
        await cache.set_records("s", {0: "hot"})
        for i in range(1, 1000):
            await cache.set_records("s", {i: i})
            assert await cache.get_records("s", [0]) == {0: "hot"}, i

    run(body())
