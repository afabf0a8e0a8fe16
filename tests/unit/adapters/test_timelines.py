"""SqliteTimelineStore against the TimelineStore port: capped newest-first lists, durable."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from pathlib import Path

from roost.adapters.embedded.timelines import SqliteTimelineStore
from roost.domain.pagination import Page


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


ALL = Page(limit=10_000)


def test_unbuilt_timelines_ignore_pushes_until_replaced(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3")
        assert not await store.exists("home:1")
        await store.push_many([("home:1", 5)])
        assert await store.page("home:1", ALL) == []
        await store.replace("home:1", [3, 1, 2, 2])
        assert await store.exists("home:1")
        assert await store.page("home:1", ALL) == [3, 2, 1]
        await store.push_many([("home:1", 5), ("home:1", 4), ("home:1", 5), ("home:2", 9)])
        assert await store.page("home:1", ALL) == [5, 4, 3, 2, 1]
        assert not await store.exists("home:2")
        await store.close()

    run(body())


def test_an_empty_replace_still_marks_the_timeline_built(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3")
        await store.replace("home:1", [])
        assert await store.exists("home:1")
        await store.push_many([("home:1", 7)])
        assert await store.page("home:1", ALL) == [7]
        await store.close()

    run(body())


def test_cap_keeps_the_newest(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3", max_items=5)
        await store.replace("t", list(range(1, 9)))  # replace trims too
        assert await store.page("t", ALL) == [8, 7, 6, 5, 4]
        for i in range(9, 200):
            await store.push_many([("t", i)])
        assert await store.page("t", ALL) == [199, 198, 197, 196, 195]
        await store.push_many([("t", 3)])  # older than everything kept: falls off at once
        assert await store.page("t", ALL) == [199, 198, 197, 196, 195]
        await store.close()
        reopened = SqliteTimelineStore(tmp_path / "t.sqlite3", max_items=5)
        assert await reopened.page("t", ALL) == [199, 198, 197, 196, 195]
        await reopened.close()

    run(body())


def test_trimming_on_disk_bounds_the_rows_kept(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3", max_items=10)
        await store.replace("t", [])
        for i in range(1, 1001):
            await store.push_many([("t", i)])
        await store.close()
        conn = sqlite3.connect(tmp_path / "t.sqlite3")
        (rows,) = conn.execute("SELECT COUNT(*) FROM timeline_entries WHERE timeline = 't'").fetchone()
        conn.close()
        assert rows <= 10 + 64  # trimmed every 64 pushes

    run(body())


def test_remove_and_drop(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3")
        await store.replace("t", [1, 2, 3])
        await store.remove_many([("t", 2), ("t", 99), ("other", 1)])
        assert await store.page("t", ALL) == [3, 1]
        await store.drop("t")
        assert not await store.exists("t")
        assert await store.page("t", ALL) == []
        await store.close()

    run(body())


def test_paging_matches_page_select(tmp_path: Path) -> None:
    async def body() -> None:
        rng = random.Random(7)
        ids = sorted(rng.sample(range(1, 5000), 300), reverse=True)
        store = SqliteTimelineStore(tmp_path / "t.sqlite3", max_items=800)
        await store.replace("t", ids)
        for _ in range(400):
            page = Page(
                limit=rng.randint(1, 40),
                max_id=rng.choice([None, rng.randint(0, 5001)]),
                since_id=rng.choice([None, rng.randint(0, 5001)]),
                min_id=rng.choice([None, None, rng.randint(0, 5001)]),
            )
            assert await store.page("t", page) == page.select(ids), page
        await store.close()

    run(body())


def test_reopen_keeps_lists_and_built_flags(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3")
        await store.replace("home:1", [10, 20])
        await store.push_many([("home:1", 30)])
        await store.replace("home:2", [])
        await store.close()
        again = SqliteTimelineStore(tmp_path / "t.sqlite3")
        assert await again.exists("home:1") and await again.exists("home:2")
        assert not await again.exists("home:3")
        assert await again.page("home:1", Page(limit=2)) == [30, 20]
        assert await again.page("home:1", Page(limit=2, max_id=20)) == [10]
        await again.close()

    run(body())


def test_cold_lists_are_served_from_disk_when_the_hot_set_is_small(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3", hot_lists=1)
        await store.replace("a", [1])
        await store.replace("b", [2])
        await store.push_many([("a", 3), ("b", 4)])
        assert await store.page("a", ALL) == [3, 1]
        assert await store.page("b", ALL) == [4, 2]
        await store.push_many([("a", 5)])
        await store.remove_many([("b", 2)])
        assert await store.page("a", ALL) == [5, 3, 1]
        assert await store.page("b", ALL) == [4]
        await store.close()

    run(body())


def test_hot_lists_are_warmed_after_a_clean_restart_in_the_same_order(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3", hot_lists=3)
        for n in range(5):
            await store.replace(f"home:{n}", [n * 10 + 1, n * 10 + 2])
        await store.page("home:2", ALL)  # read last: the hottest
        assert store.hot_timelines() == ["home:3", "home:4", "home:2"]
        await store.close()

        again = SqliteTimelineStore(tmp_path / "t.sqlite3", hot_lists=3)
        assert again.hot_timelines() == []
        await again.page("home:0", ALL)  # a request before warming finishes
        assert await again.warm() == 2  # the third slot is taken by home:0
        # Warmed lists are colder than those read meanwhile, in their old order.
        assert again.hot_timelines() == ["home:4", "home:2", "home:0"]
        assert await again.page("home:4", ALL) == [42, 41]
        # A list dropped since is not warmed; nothing is warmed twice.
        await again.drop("home:4")
        await again.close()
        third = SqliteTimelineStore(tmp_path / "t.sqlite3", hot_lists=3)
        assert await third.warm() == 2
        assert third.hot_timelines() == ["home:2", "home:0"]
        assert await third.warm() == 0
        await third.close()

    run(body())


def test_nothing_to_warm_after_a_crash(tmp_path: Path) -> None:
    async def body() -> None:
        store = SqliteTimelineStore(tmp_path / "t.sqlite3")
        await store.replace("home:1", [1, 2])
        await store.flush()  # durable, but the process "dies" without close()
        again = SqliteTimelineStore(tmp_path / "t.sqlite3")
        assert await again.warm() == 0
        assert await again.page("home:1", ALL) == [2, 1]  # read from disk on demand
        await again.close()

    run(body())


def test_hot_lists_come_from_the_settings(tmp_path: Path) -> None:
    from roost.runtime.backends import close, open_embedded
    from roost.settings import Settings

    async def body() -> None:
        backends = open_embedded(Settings(data_dir=tmp_path, timeline_hot_lists=2))
        store = backends.timelines
        for n in range(4):
            await store.replace(f"home:{n}", [n + 1])
        assert isinstance(store, SqliteTimelineStore)
        assert store.hot_timelines() == ["home:2", "home:3"]
        await close(backends)

    run(body())
