"""The TimelineStore port's contract, over the embedded SqliteTimelineStore and the Redis one.

Capped newest-first lists that exist only once built (the reader rebuilds a list the
store calls unbuilt), exact pages, and lists that outlive the process that wrote them.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest

from roost.adapters.embedded.timelines import SqliteTimelineStore
from roost.adapters.redis.timelines import RedisTimelineStore
from roost.cluster.scratch_redis import RedisServer
from roost.domain.ids import EPOCH_MS, IdGenerator
from roost.domain.pagination import Page
from roost.ports.timelines import TimelineStore

ALL = Page(limit=10_000)


class Droppable(TimelineStore, Protocol):
    async def drop(self, timeline: str) -> None: ...


# Opens a store with a cap on one backing store; a second call is another process on it.
Opener = Callable[[int], AbstractAsyncContextManager[Droppable]]


@pytest.fixture(params=["embedded", "redis"])
def open_store(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    if request.param == "embedded":
        @asynccontextmanager
        async def embedded(max_items: int) -> AsyncIterator[Droppable]:
            store = SqliteTimelineStore(tmp_path / "t.sqlite3", max_items=max_items)
            try:
                yield store
            finally:
                await store.close()

        return embedded
    server: RedisServer = request.getfixturevalue("redis_fresh")

    @asynccontextmanager
    async def redis(max_items: int) -> AsyncIterator[Droppable]:
        client = server.client()
        try:
            yield RedisTimelineStore(client, max_items=max_items)
        finally:
            await client.aclose()

    return redis


def run(work: Coroutine[Any, Any, None]) -> None:
    asyncio.run(work)


def test_unbuilt_timelines_ignore_pushes_until_replaced(open_store: Opener) -> None:
    async def body() -> None:
        async with open_store(800) as store:
            assert not await store.exists("home:1")
            await store.push_many([("home:1", 5)])
            await store.flush()
            assert await store.page("home:1", ALL) == []
            assert not await store.exists("home:1")
            await store.replace("home:1", [3, 1, 2, 2])
            assert await store.exists("home:1")
            assert await store.page("home:1", ALL) == [3, 2, 1]
            await store.push_many([("home:1", 5), ("home:1", 4), ("home:1", 5), ("home:2", 9)])
            await store.flush()
            assert await store.page("home:1", ALL) == [5, 4, 3, 2, 1]
            assert not await store.exists("home:2")

    run(body())


def test_an_empty_replace_still_marks_the_timeline_built(open_store: Opener) -> None:
    async def body() -> None:
        async with open_store(800) as store:
            await store.replace("home:1", [])
            assert await store.exists("home:1")
            assert await store.page("home:1", ALL) == []
            await store.push_many([("home:1", 7)])
            assert await store.page("home:1", ALL) == [7]

    run(body())


def test_cap_keeps_the_newest(open_store: Opener) -> None:
    async def body() -> None:
        async with open_store(5) as store:
            await store.replace("t", list(range(1, 9)))  # replace trims too
            assert await store.page("t", ALL) == [8, 7, 6, 5, 4]
            for i in range(9, 200):
                await store.push_many([("t", i)])
            assert await store.page("t", ALL) == [199, 198, 197, 196, 195]
            await store.push_many([("t", 3)])  # older than everything kept: falls off at once
            assert await store.page("t", ALL) == [199, 198, 197, 196, 195]
            await store.push_many([("t", i) for i in range(300, 320)])  # one batch past the cap
            assert await store.page("t", ALL) == [319, 318, 317, 316, 315]

    run(body())


def test_remove_and_drop(open_store: Opener) -> None:
    async def body() -> None:
        async with open_store(800) as store:
            await store.replace("t", [1, 2, 3])
            await store.remove_many([("t", 2), ("t", 99), ("other", 1)])
            await store.flush()
            assert await store.page("t", ALL) == [3, 1]
            await store.drop("t")
            assert not await store.exists("t")
            assert await store.page("t", ALL) == []
            await store.push_many([("t", 4)])  # dropped: unbuilt again
            assert await store.page("t", ALL) == []

    run(body())


def test_paging_matches_page_select(open_store: Opener) -> None:
    async def body() -> None:
        rng = random.Random(7)
        ids = sorted(rng.sample(range(1, 5000), 300), reverse=True)
        async with open_store(800) as store:
            await store.replace("t", ids)
            for _ in range(400):
                page = Page(
                    limit=rng.randint(1, 40),
                    max_id=rng.choice([None, rng.randint(0, 5001)]),
                    since_id=rng.choice([None, rng.randint(0, 5001)]),
                    min_id=rng.choice([None, None, rng.randint(0, 5001)]),
                )
                assert await store.page("t", page) == page.select(ids), page

    run(body())


def test_real_snowflakes_of_one_millisecond_keep_their_order(open_store: Opener) -> None:
    # Ids 2**62 apart from zero differing only in their low bits: a store keeping them as
    # doubles (Redis scores) would tie them and page across them wrongly.
    async def body() -> None:
        now = EPOCH_MS + 86_400_000 * 3000  # 2032: ids near 2**61
        gen = IdGenerator(lambda: now)
        made = [gen.next_id(5) for _ in range(40)]
        assert made[-1] - made[0] < 2**10 and made[0] > 2**60
        async with open_store(800) as store:
            await store.replace("t", made[::2])
            await store.push_many(("t", i) for i in made[1::2])
            newest_first = sorted(made, reverse=True)
            assert await store.page("t", ALL) == newest_first
            assert await store.page("t", Page(limit=3, max_id=made[20])) == [made[19], made[18], made[17]]
            assert await store.page("t", Page(limit=2, min_id=made[20])) == [made[22], made[21]]
            assert await store.page("t", Page(limit=50, since_id=made[37])) == [made[39], made[38]]

    run(body())


def test_lists_and_built_flags_outlive_the_process(open_store: Opener) -> None:
    async def first() -> None:
        async with open_store(800) as store:
            await store.replace("home:1", [10, 20])
            await store.push_many([("home:1", 30)])
            await store.replace("home:2", [])

    async def second() -> None:
        async with open_store(800) as again:
            assert await again.exists("home:1") and await again.exists("home:2")
            assert not await again.exists("home:3")
            assert await again.page("home:1", Page(limit=2)) == [30, 20]
            assert await again.page("home:1", Page(limit=2, max_id=20)) == [10]

    run(first())
    run(second())


def test_fanout_batches_spanning_many_lists(open_store: Opener) -> None:
    # A fanout round: thousands of (list, id) pairs in one call, some lists unbuilt.
    async def body() -> None:
        async with open_store(50) as store:
            for n in range(0, 600, 2):
                await store.replace(f"home:{n}", [1])
            await store.push_many((f"home:{n}", s) for s in range(2, 12) for n in range(600))
            await store.flush()
            for n in (0, 2, 300, 598):
                assert await store.page(f"home:{n}", ALL) == list(range(11, 0, -1))
            for n in (1, 299, 599):
                assert not await store.exists(f"home:{n}")
                assert await store.page(f"home:{n}", ALL) == []

    run(body())


def test_redis_lists_are_shared_by_processes(redis_fresh: RedisServer) -> None:
    # The embedded store serves one process from memory; Redis lists are one copy for all.
    async def body() -> None:
        a_client, b_client = redis_fresh.client(), redis_fresh.client()
        try:
            a, b = RedisTimelineStore(a_client), RedisTimelineStore(b_client)
            await a.replace("home:1", [1])
            assert await b.exists("home:1")
            await asyncio.gather(*(store.push_many([("home:1", i)])
                                   for i in range(2, 200) for store in (a, b)))
            assert await a.page("home:1", ALL) == await b.page("home:1", ALL) == list(range(199, 0, -1))
            await b.drop("home:1")
            assert not await a.exists("home:1")
        finally:
            await a_client.aclose()
            await b_client.aclose()

    run(body())


def test_any_timeline_name_but_a_newline(open_store: Opener) -> None:
    async def body() -> None:
        async with open_store(800) as store:
            names = ["home:1", "list:n\\n", "list:ñ é", "x" * 200]
            for name in names:
                await store.replace(name, [1])
            await store.push_many((name, i) for i in (2, 3) for name in names)
            for name in names:
                assert await store.page(name, ALL) == [3, 2, 1], name

    run(body())


def test_page_if_built_is_none_until_built_then_the_page(open_store: Opener) -> None:
    async def body() -> None:
        async with open_store(800) as store:
            assert await store.page_if_built("home:1", ALL) is None
            await store.replace("home:1", [])
            assert await store.page_if_built("home:1", ALL) == []  # built and empty is not unbuilt
            await store.replace("home:1", [3, 1, 2])
            await store.push_many([("home:1", 5)])
            await store.flush()
            assert await store.page_if_built("home:1", ALL) == [5, 3, 2, 1]
            assert await store.page_if_built("home:1", Page(limit=2, max_id=5)) == [3, 2]
            assert await store.page_if_built("home:1", Page(limit=2, min_id=1)) == [3, 2]
            assert await store.page_if_built("home:1", Page(limit=2, min_id=1)) == await store.page(
                "home:1", Page(limit=2, min_id=1))
            await store.drop("home:1")
            assert await store.page_if_built("home:1", ALL) is None

    run(body())
