"""SqliteLog against the Log port: partitioned append, read/commit per group, lag, durable replay."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

from roost.adapters.embedded.log import SqliteLog, partition_for
from roost.domain.ids import MAX_LOGICAL_SHARDS, IdGenerator


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_keys_pick_partitions_and_offsets_count_per_partition(tmp_path: Path) -> None:
    async def body() -> None:
        log = SqliteLog(tmp_path / "log.sqlite3", partitions=4)
        # Keys 1 and 42 hash to partition 3, key 2 to partition 0; nothing to 1 or 2.
        assert [log.partition_for(k) for k in (1, 42, 2)] == [3, 3, 0]
        await log.append_many([(1, {"n": 1}), (42, {"n": 2}), (2, {"n": 3}), (1, {"n": 4})])
        p3 = await log.read("g", 3, 100)
        assert [(r.offset, r.key, r.event["n"]) for r in p3] == [(0, 1, 1), (1, 42, 2), (2, 1, 4)]
        p0 = await log.read("g", 0, 100)
        assert [(r.partition, r.offset, r.event) for r in p0] == [(0, 0, {"n": 3})]
        assert await log.read("g", 1, 100) == await log.read("g", 2, 100) == []
        assert log.appended == 4
        await log.close()

    run(body())


def test_snowflake_keys_spread_over_every_partition() -> None:
    # Accounts made one per millisecond all have sequence 0 in their low bits:
    # a modulo would put every one of them in partition 0.
    clock = iter(range(1_800_000_000_000, 1_800_000_010_000))
    ids = IdGenerator(lambda: next(clock))
    keys = [ids.next_id(shard % MAX_LOGICAL_SHARDS) for shard in range(4000)]
    for partitions in (4, 8):
        counts = Counter(partition_for(k, partitions) for k in keys)
        assert set(counts) == set(range(partitions))
        # Within 20% of an even share.
        assert max(counts.values()) < 1.2 * len(keys) / partitions, counts
        assert min(counts.values()) > 0.8 * len(keys) / partitions, counts
    assert len({partition_for(keys[0], 8) for _ in range(3)}) == 1


def test_per_key_order_is_kept(tmp_path: Path) -> None:
    async def body() -> None:
        log = SqliteLog(tmp_path / "log.sqlite3", partitions=3)
        for n in range(10):
            await log.append_many([(7, {"n": n}), (8, {"n": -n})])
        records = await log.read("g", log.partition_for(7), 100)
        assert [r.event["n"] for r in records if r.key == 7] == list(range(10))
        await log.close()

    run(body())


def test_read_commit_and_lag(tmp_path: Path) -> None:
    async def body() -> None:
        log = SqliteLog(tmp_path / "log.sqlite3", partitions=2)
        assert (log.partition_for(2), log.partition_for(0)) == (0, 1)
        await log.append_many([(2, {"n": n}) for n in range(5)] + [(0, {"n": 9})])
        assert await log.lag("g") == 6
        first = await log.read("g", 0, 2)
        assert [r.event["n"] for r in first] == [0, 1]
        assert await log.read("g", 0, 2) == first  # nothing committed yet: same batch again
        await log.commit("g", 0, first[-1].offset)
        assert await log.lag("g") == 4
        assert [r.event["n"] for r in await log.read("g", 0, 10)] == [2, 3, 4]
        # Another group is independent.
        assert await log.lag("other") == 6
        await log.commit("g", 0, 4)
        await log.commit("g", 1, 0)
        assert await log.lag("g") == 0
        assert await log.read("g", 0, 10) == []
        await log.close()

    run(body())


def test_replay_after_reopen_resumes_from_the_committed_offset(tmp_path: Path) -> None:
    path = tmp_path / "log.sqlite3"

    async def before() -> None:
        log = SqliteLog(path, partitions=2)
        await log.append_many([(2, {"n": n}) for n in range(4)])
        records = await log.read("fanout", 0, 2)
        await log.commit("fanout", 0, records[-1].offset)
        await log.close()  # "crash" with n=2, 3 not yet handled

    async def after() -> None:
        log = SqliteLog(path, partitions=2)
        assert await log.lag("fanout") == 2
        assert [r.event["n"] for r in await log.read("fanout", 0, 10)] == [2, 3]
        # New appends continue the offsets instead of overwriting old records.
        await log.append_many([(2, {"n": 4})])
        records = await log.read("fanout", 0, 10)
        assert [(r.offset, r.event["n"]) for r in records] == [(2, 2), (3, 3), (4, 4)]
        await log.close()

    run(before())
    run(after())


def test_two_writers_on_one_file_do_not_collide(tmp_path: Path) -> None:
    """The admin CLI may append to the server's log: offsets come from the file."""

    async def body() -> None:
        a = SqliteLog(tmp_path / "log.sqlite3", partitions=1)
        b = SqliteLog(tmp_path / "log.sqlite3", partitions=1)
        await a.append_many([(0, {"w": "a"})])
        await b.append_many([(0, {"w": "b"})])
        await a.append_many([(0, {"w": "a2"})])
        records = await a.read("g", 0, 10)
        assert [(r.offset, r.event["w"]) for r in records] == [(0, "a"), (1, "b"), (2, "a2")]
        await a.close()
        await b.close()

    run(body())


def test_wait_wakes_on_append_and_times_out_otherwise(tmp_path: Path) -> None:
    async def body() -> None:
        log = SqliteLog(tmp_path / "log.sqlite3", partitions=1)
        started = time.monotonic()
        await log.wait(0.05)
        assert time.monotonic() - started >= 0.04

        async def later() -> None:
            await asyncio.sleep(0.01)
            await log.append_many([(0, {})])

        task = asyncio.create_task(later())
        started = time.monotonic()
        await log.wait(5)
        assert time.monotonic() - started < 1
        await task
        await log.close()

    run(body())


def test_trim_keeps_what_a_group_has_not_read(tmp_path: Path) -> None:
    async def body() -> None:
        log = SqliteLog(tmp_path / "log.sqlite3", partitions=1, retention=2)
        await log.append_many([(0, {"n": n}) for n in range(6)])
        await log.commit("slow", 0, 0)  # has read offset 0 only
        await log.commit("fast", 0, 5)
        assert await log.trim() == 1
        assert [r.offset for r in await log.read("slow", 0, 10)] == [1, 2, 3, 4, 5]
        await log.commit("slow", 0, 5)
        assert await log.trim() == 3  # retention keeps the newest 2
        assert await log.lag("slow") == 0
        await log.close()

    run(body())
