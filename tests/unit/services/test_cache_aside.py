"""Cache-aside reads against the embedded cache: what is loaded, what is kept."""

from __future__ import annotations

import asyncio

from roost.adapters.embedded.cache import MemoryCache
from roost.domain.entities import Account
from roost.domain.ids import compose
from roost.domain.shards import ShardMap
from roost.domain.versions import digest
from roost.services.cache_aside import get_by_ids, get_or_load


def test_get_or_load_keeps_values_but_not_absence() -> None:
    async def body() -> None:
        cache = MemoryCache()
        loads: list[str] = []

        async def load(value: int | None) -> int | None:
            loads.append("load")
            return value

        assert await get_or_load(cache, "k", lambda: load(7)) == 7
        assert await get_or_load(cache, "k", lambda: load(8)) == 7  # from the cache
        assert await get_or_load(cache, "gone", lambda: load(None)) is None
        assert await get_or_load(cache, "gone", lambda: load(None)) is None  # absence is asked again
        assert loads == ["load"] * 3

    asyncio.run(body())


def test_get_by_ids_loads_only_the_misses_once_per_shard() -> None:
    async def body() -> None:
        cache = MemoryCache()
        shard_map = ShardMap(logical=8, physical=2)
        calls: list[tuple[int, list[int]]] = []

        async def load(physical: int, ids: list[int]) -> dict[int, Account]:
            calls.append((physical, sorted(ids)))
            return {i: Account(i, f"u{i}") for i in ids if i != 99}  # 99 does not exist

        ids = [compose(1_000 + n, logical, n) for logical in range(8) for n in (1, 2)]
        found = await get_by_ids(cache, "x", (i for i in [*ids, 99]), shard_map, load)
        assert {i: a.username for i, a in found.items()} == {i: f"u{i}" for i in ids}
        # Each record read from the store got its version, the digest of its content.
        assert all(a.version == digest(Account(i, f"u{i}")) != 0 for i, a in found.items())
        assert sorted(p for p, _ in calls) == [0, 1]  # one load per physical shard, misses only
        calls.clear()
        assert await get_by_ids(cache, "x", ids, shard_map, load) == found
        assert calls == []  # every one from the cache

    asyncio.run(body())

