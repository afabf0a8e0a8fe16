"""The cache port's contract, over every adapter: the in-process MemoryCache (keeping
objects, and keeping bytes through the codecs) and Redis (bytes, shared by processes).

Single flight and negative caching run through ``services/cache_aside`` as the
services use them; for Redis the concurrent callers use two adapter objects with
their own connections, as two processes would.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

from roost.adapters.embedded.cache import MemoryCache
from roost.adapters.redis.cache import RedisCache
from roost.cluster.scratch_redis import RedisServer
from roost.domain.entities import Account, Identity, Status, ViewerFlags
from roost.domain.ids import EPOCH_MS, compose, now_ms
from roost.domain.shards import ShardMap
from roost.domain.versions import stamp
from roost.ports.cache import Cache
from roost.services import cache_aside
from roost.services.cache_aside import get_by_ids, get_or_load
from roost.services.cache_codecs import CODECS

ADAPTERS = ["memory", "memory-encoded", "redis"]
WAIT_S = 10.0  # bound on waits for expiry: liveness, never a figure
SHARDS = ShardMap(logical=8, physical=2)
_prefixes = itertools.count()

Opener = Callable[[], Any]


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def open_cache(adapter: str, request: pytest.FixtureRequest) -> Callable[[], Any]:
    """``async with open_cache() as cache``: a fresh cache; several opened in one test
    share their store (one Redis key prefix; one MemoryCache) like processes would."""
    shared: dict[str, Any] = {}
    if adapter == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        prefix = f"test{next(_prefixes)}:{time.time_ns()}:"

    @asynccontextmanager
    async def opened() -> AsyncIterator[Cache]:
        if adapter == "redis":
            cache = RedisCache(server.client(), CODECS, prefix=prefix)
            try:
                yield cache
            finally:
                await cache.close()
        else:
            if "memory" not in shared:
                shared["memory"] = MemoryCache(codecs=CODECS if adapter == "memory-encoded" else None)
            yield shared["memory"]

    return opened


def run(work: Awaitable[Any]) -> Any:
    return asyncio.run(work)  # type: ignore[arg-type]


def old_id(n: int) -> int:
    """An id minted long ago (a missing one may be tombstoned)."""
    return compose(now_ms() - EPOCH_MS - 3_600_000, n % 8, n)


def versioned_status(status_id: int, favourites: int = 0) -> Status:
    status = Status(status_id, 7, "hi #tag @bob", "<p>hi</p>", mention_ids=(3, 4), tags=("tag",),
                    favourites_count=favourites)
    stamp(status)
    return status


async def until_gone(check: Callable[[], Awaitable[bool]]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not await check():
        assert time.monotonic() < deadline, "the entry never expired"
        await asyncio.sleep(0.02)


# -- storage ------------------------------------------------------------------------------


def test_values_and_records_round_trip_equal_and_delete(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as cache:
            status = versioned_status(old_id(1))
            account = Account(5, "alice", followers_count=3)
            stamp(account)
            identity = Identity("tok", 5, 9, frozenset({"read", "write"}))
            flags = ViewerFlags(frozenset({1, 2}), frozenset({3}))
            stamp(flags)
            await cache.set_records("s", {status.id: status})
            await cache.set_records("a", {5: account})
            await cache.set_many({"t:tok": identity, "vf:5": flags, "fg:5": {8: (True, False)}, "d:u:alice": 5,
                                  "vf:6": "too-many"})
            got = await cache.get_records("s", [status.id, old_id(2)])
            # Equal (with its version), whether or not it is the same object.
            assert got == {status.id: status} and got[status.id].version == status.version
            assert await cache.get_records("a", [5]) == {5: account}
            assert await cache.get_many(["t:tok", "vf:5", "fg:5", "d:u:alice", "vf:6", "t:other"]) == {
                "t:tok": identity, "vf:5": flags, "fg:5": {8: (True, False)}, "d:u:alice": 5, "vf:6": "too-many"}
            await cache.delete("t:tok")
            await cache.delete_records("s", status.id)
            assert await cache.get_many(["t:tok", "vf:5"]) == {"vf:5": flags}
            assert await cache.get_records("s", [status.id]) == {}
            assert await cache.get_records("a", [5]) == {5: account}

    run(body())


def test_kinds_are_separate_namespaces(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as cache:
            status = versioned_status(11)
            account = Account(11, "eleven")
            await cache.set_records("s", {11: status})
            await cache.set_records("a", {11: account})
            await cache.set_records("recent", {11: [1, 2, 3]})
            assert await cache.get_records("s", [11]) == {11: status}
            assert await cache.get_records("a", [11]) == {11: account}
            assert await cache.get_records("recent", [11]) == {11: [1, 2, 3]}
            assert await cache.get_many(["s:11", "a:11"]) == {}
            await cache.delete_records("a", 11)
            assert await cache.get_records("s", [11]) == {11: status}
            await cache.set_absent("a", [11], 60)
            assert await cache.get_absent("s", [11]) == set() and await cache.get_absent("a", [11]) == {11}

    run(body())


def test_entries_expire_after_their_ttl(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as cache:
            await cache.set_many({"d:u:brief": 1}, ttl=0.05)
            await cache.set_records("s", {1: versioned_status(1)}, ttl=0.05)
            await cache.set_absent("s", [2], ttl=0.05)
            await cache.set_many({"d:u:long": 2}, ttl=60)
            await until_gone(lambda: _empty(cache.get_many(["d:u:brief"])))
            await until_gone(lambda: _empty(cache.get_records("s", [1])))
            await until_gone(lambda: _empty(cache.get_absent("s", [2])))
            assert await cache.get_many(["d:u:long"]) == {"d:u:long": 2}

    run(body())


async def _empty(got: Awaitable[Any]) -> bool:
    return not await got


def test_stats_count_hits_and_misses(open_cache: Callable[[], Any], adapter: str) -> None:
    async def body() -> None:
        async with open_cache() as cache:
            before = cache.stats()
            await cache.set_records("s", {1: versioned_status(1), 2: versioned_status(2)})
            await cache.set_many({"d:u:x": 1})
            await cache.get_records("s", [1, 2, 3])
            await cache.get_many(["d:u:x", "d:u:y"])
            if isinstance(cache, RedisCache):
                await cache.refresh_stats()
            after = cache.stats()
            assert after["hits"] - before["hits"] == 3
            assert after["misses"] - before["misses"] == 2
            assert after["size"] >= 3 and after["evictions"] >= 0

    run(body())


# -- cache-aside: single flight, negative caching, invalidation -----------------------------


def test_concurrent_misses_of_one_key_load_it_once(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as first, open_cache() as second:
            loads: list[list[int]] = []
            status_id = old_id(40)

            async def load(physical: int, ids: list[int]) -> dict[int, Status]:
                loads.append(ids)
                await asyncio.sleep(0.05)  # a slow query: everyone else arrives meanwhile
                return {i: Status(i, 7, "x", "<p>x</p>") for i in ids}

            callers = [get_by_ids(cache, "s", [status_id], SHARDS, load) for cache in (first, second) * 10]
            results = await asyncio.gather(*callers)
            assert loads == [[status_id]]  # 20 concurrent misses, one database read
            assert all(r[status_id] == results[0][status_id] and r[status_id].version for r in results)

            values: list[str] = []

            async def load_value() -> int:
                values.append("load")
                await asyncio.sleep(0.05)
                return 42

            got = await asyncio.gather(*(get_or_load(c, "d:u:hot", load_value) for c in (first, second) * 10))
            assert got == [42] * 20 and values == ["load"]

    run(body())


def test_a_rebuild_that_fails_lets_the_next_caller_load(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as cache:
            status_id = old_id(41)

            async def broken(physical: int, ids: list[int]) -> dict[int, Status]:
                raise OSError("the shard is down")

            with pytest.raises(OSError):
                await get_by_ids(cache, "s", [status_id], SHARDS, broken)

            async def load(physical: int, ids: list[int]) -> dict[int, Status]:
                return {i: Status(i, 7, "x", "<p>x</p>") for i in ids}

            # The claim was released: no wait for it to expire.
            found = await asyncio.wait_for(get_by_ids(cache, "s", [status_id], SHARDS, load), WAIT_S)
            assert list(found) == [status_id]

    run(body())


def test_missing_ids_are_remembered_briefly_and_deletes_invalidate(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as cache:
            stored: dict[int, Status] = {}
            loads: list[list[int]] = []

            async def load(physical: int, ids: list[int]) -> dict[int, Status]:
                loads.append(sorted(ids))
                return {i: copy.deepcopy(stored[i]) for i in ids if i in stored}

            gone, here = old_id(50), old_id(51)
            stored[here] = Status(here, 7, "x", "<p>x</p>")
            assert list(await get_by_ids(cache, "s", [gone, here], SHARDS, load)) == [here]
            loads.clear()
            # The missing id is a tombstone now: asking again reads nothing.
            assert list(await get_by_ids(cache, "s", [gone, here], SHARDS, load)) == [here]
            assert loads == []
            # Invalidation on delete: the record and any tombstone go; the next read loads.
            del stored[here]
            await cache.delete_records("s", here)
            assert await get_by_ids(cache, "s", [here], SHARDS, load) == {}
            assert loads == [[here]]
            stored[gone] = Status(gone, 7, "back", "<p>back</p>")
            await cache.delete_records("s", gone)
            assert list(await get_by_ids(cache, "s", [gone], SHARDS, load)) == [gone]

    run(body())


def test_a_young_missing_id_is_not_tombstoned(open_cache: Callable[[], Any]) -> None:
    """An id minted just now may be about to commit (a new status reads itself back at once)."""

    async def body() -> None:
        async with open_cache() as cache:
            young = compose(now_ms() - EPOCH_MS, 3, 1)
            stored: dict[int, Status] = {}

            async def load(physical: int, ids: list[int]) -> dict[int, Status]:
                return {i: stored[i] for i in ids if i in stored}

            assert await get_by_ids(cache, "s", [young], SHARDS, load) == {}
            stored[young] = Status(young, 7, "x", "<p>x</p>")
            assert list(await get_by_ids(cache, "s", [young], SHARDS, load)) == [young]

    run(body())


def test_a_changed_record_gets_a_new_version(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as cache:
            status_id = old_id(60)
            counts = {"favourites": 0}

            async def load(physical: int, ids: list[int]) -> dict[int, Status]:
                return {i: Status(i, 7, "x", "<p>x</p>", favourites_count=counts["favourites"]) for i in ids}

            first = (await get_by_ids(cache, "s", [status_id], SHARDS, load))[status_id]
            again = (await get_by_ids(cache, "s", [status_id], SHARDS, load))[status_id]
            assert again.version == first.version != 0
            counts["favourites"] = 1
            await cache.delete_records("s", status_id)  # as the favourite's write path does
            moved = (await get_by_ids(cache, "s", [status_id], SHARDS, load))[status_id]
            assert moved.version != first.version and moved.favourites_count == 1

    run(body())


def test_a_stuck_rebuild_elsewhere_is_waited_for_briefly_then_read_from_the_database(
        open_cache: Callable[[], Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process holds the key and never fills it: after the bounded wait the
    caller reads the database itself, once (no stampede, no hang)."""
    monkeypatch.setattr(cache_aside, "WAIT_SECONDS", 0.2)

    async def body() -> None:
        async with open_cache() as stuck, open_cache() as cache:
            status_id = old_id(45)
            assert await stuck.claim([f"s:{status_id}"], 60) == {f"s:{status_id}"}
            loads: list[list[int]] = []

            async def load(physical: int, ids: list[int]) -> dict[int, Status]:
                loads.append(ids)
                return {i: Status(i, 7, "x", "<p>x</p>") for i in ids}

            found = await asyncio.wait_for(get_by_ids(cache, "s", [status_id], SHARDS, load), WAIT_S)
            assert list(found) == [status_id] and loads == [[status_id]]
            # The value it read is cached for everyone, though the claim is still held.
            assert await cache.get_records("s", [status_id]) == found

    run(body())


# -- write-through: the newest revision wins ---------------------------------------------


def revised(account_id: int, revision: int, name: str = "") -> Account:
    account = Account(account_id, "carol", display_name=name or f"rev {revision}", revision=revision)
    stamp(account)
    return account


def test_a_record_is_replaced_only_by_a_higher_revision(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as first, open_cache() as second:
            assert await first.set_records_if_newer("a", {1: revised(1, 5), 2: revised(2, 1)}) == {1, 2}
            # Lower and equal revisions are refused, from any process; higher ones win.
            assert await second.set_records_if_newer("a", {1: revised(1, 4), 2: revised(2, 2)}) == {2}
            assert await first.set_records_if_newer("a", {1: revised(1, 5, "same revision")}) == set()
            got = await first.get_records("a", [1, 2])
            assert got == {1: revised(1, 5), 2: revised(2, 2)}
            # A deleted record stays deleted: its tombstone refuses a late writer.
            await second.delete_records("a", 1)
            await second.set_absent("a", [1], 60)
            assert await first.set_records_if_newer("a", {1: revised(1, 9)}) == set()
            assert await first.get_records("a", [1]) == {}
            # An expired copy is no obstacle.
            await first.set_records_if_newer("a", {3: revised(3, 7)}, ttl=0.05)
            await until_gone(lambda: _empty(first.get_records("a", [3])))
            assert await second.set_records_if_newer("a", {3: revised(3, 1)}) == {3}

    run(body())


def test_concurrent_writers_leave_the_highest_revision(open_cache: Callable[[], Any]) -> None:
    async def body() -> None:
        async with open_cache() as first, open_cache() as second:
            revisions = list(range(1, 41))
            order = revisions[1::2] + revisions[0::2][::-1]  # arrival order unlike commit order
            await asyncio.gather(*(
                (first if r % 2 else second).set_records_if_newer("a", {8: revised(8, r)}) for r in order
            ))
            assert (await second.get_records("a", [8]))[8].revision == 40

    run(body())


def test_a_fill_read_before_a_write_does_not_replace_it(open_cache: Callable[[], Any]) -> None:
    """Cache-aside fills of a written-through kind obey the same rule: a reader that
    loaded an older row (a lagging replica, a slow query) cannot bury a newer copy."""

    async def body() -> None:
        async with open_cache() as reader, open_cache() as writer:
            account_id = old_id(90)

            async def slow_load(physical: int, ids: list[int]) -> dict[int, Account]:
                # While this read is on its way, a write commits and writes through.
                await writer.set_records_if_newer("a", {account_id: revised(account_id, 2)})
                return {account_id: Account(account_id, "carol", display_name="rev 1", revision=1)}

            await get_by_ids(reader, "a", [account_id], SHARDS, slow_load, revisioned=True)
            assert (await reader.get_records("a", [account_id]))[account_id] == revised(account_id, 2)

    run(body())


# -- Redis only: a cache that cannot be reached ------------------------------------------


def test_an_unreachable_redis_reads_as_misses_and_keeps_deletes(monkeypatch: pytest.MonkeyPatch) -> None:
    from roost.adapters.redis.cache import connect
    from roost.cluster.supervisor import spare_ports

    ports = spare_ports()
    port = next(ports)
    ports.close()  # nothing listens there

    async def body() -> None:
        cache = RedisCache(connect(f"redis://127.0.0.1:{port}/0"), CODECS)
        try:
            loads: list[int] = []

            async def load(physical: int, ids: list[int]) -> dict[int, Status]:
                loads.extend(ids)
                return {i: Status(i, 7, "x", "<p>x</p>") for i in ids}

            status_id = old_id(70)
            assert list(await get_by_ids(cache, "s", [status_id], SHARDS, load)) == [status_id]
            assert loads == [status_id] and cache.errors > 0
            await cache.delete_records("s", status_id)  # kept, sent when Redis answers (test_redis_outage)
            assert await cache.get_records("s", [status_id]) == {}
            # A write-through that cannot write keeps the old copy's drop pending the same way.
            assert await cache.set_records_if_newer("a", {5: revised(5, 1)}) == set()
            assert await cache.get_records("a", [5]) == {}
        finally:
            await cache.close()

    monkeypatch.setattr(cache_aside, "POLL_SECONDS", 0.001)
    run(body())
