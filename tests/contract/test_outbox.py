"""The outbox repository: staged in a transaction, pending in id order once committed,
forgotten by exactly the ids relayed, and kept across restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import pytest

from roost.failpoints import Failpoints
from roost.ports.log import Log
from roost.services.context import Backends
from roost.services.outbox import Outbox

from .conftest import ALL_FAMILIES, Family

# Runs on every family whose repositories of this area exist (conftest.py).
FAMILIES = ALL_FAMILIES


SHARD = 0


async def commit_late_embedded(b: Backends, shard: int, event_id: int, key: int, event: dict[str, Any]) -> None:
    # SQLite has one writer, so its ids commit in order; an explicit id is how a
    # transaction that drew a lower id from a sequence but committed later looks.
    async with b.db.shards[shard].transaction() as tx:
        await tx.execute("INSERT INTO outbox (id, key, event) VALUES (?, ?, ?)", (event_id, key, orjson.dumps(event)))


async def commit_late_postgres(b: Backends, shard: int, event_id: int, key: int, event: dict[str, Any]) -> None:
    # The identity column takes a given id (BY DEFAULT); the real interleaving of
    # concurrent commits is test_concurrent_commits_out_of_id_order_lose_nothing.
    async with b.db.shards[shard].transaction() as tx:
        await tx.execute("INSERT INTO outbox (id, key, event) VALUES (?, ?, ?)", (event_id, key, orjson.dumps(event)))


# Per family: commit an event with a chosen id (the family's own SQL; test support only).
COMMIT_LATE: dict[str, Callable[[Backends, int, int, int, dict[str, Any]], Awaitable[None]]] = {
    "embedded": commit_late_embedded,
    "postgres": commit_late_postgres,
}
# Families whose units of work on one shard run at once (row locks, not one writer per file).
CONCURRENT_WRITERS = {"postgres"}


async def stage(b: Backends, key: int, event: dict[str, Any], shard: int = SHARD) -> None:
    async with b.db.shards[shard].transaction() as tx:
        await b.repos.outbox.stage(tx, key, event)


def test_staged_events_are_pending_in_id_order_with_key_and_event(family: Family) -> None:
    async def work(b: Backends) -> None:
        for n in range(3):
            await stage(b, 40 + n, {"n": n, "nested": {"list": [1, "two"]}})
        events = await b.repos.outbox.pending(SHARD, 10)
        assert [e.key for e in events] == [40, 41, 42]
        assert [e.event for e in events] == [{"n": n, "nested": {"list": [1, "two"]}} for n in range(3)]
        assert [e.id for e in events] == sorted(e.id for e in events)
        assert await b.repos.outbox.pending(1, 10) == []  # per shard

    family.run(work)


def test_pending_honours_the_limit_oldest_first(family: Family) -> None:
    async def work(b: Backends) -> None:
        for n in range(5):
            await stage(b, 1, {"n": n})
        assert [e.event["n"] for e in await b.repos.outbox.pending(SHARD, 2)] == [0, 1]

    family.run(work)


def test_rolled_back_staging_is_never_pending(family: Family) -> None:
    async def work(b: Backends) -> None:
        with pytest.raises(RuntimeError):
            async with b.db.shards[SHARD].transaction() as tx:
                await b.repos.outbox.stage(tx, 1, {"type": "ghost"})
                raise RuntimeError("the write failed after staging")
        assert await b.repos.outbox.pending(SHARD, 10) == []

    family.run(work)


def test_mark_relayed_forgets_exactly_those_ids(family: Family) -> None:
    async def work(b: Backends) -> None:
        for n in range(4):
            await stage(b, 1, {"n": n})
        events = await b.repos.outbox.pending(SHARD, 10)
        await b.repos.outbox.mark_relayed(SHARD, [events[0].id, events[2].id])
        assert [e.event["n"] for e in await b.repos.outbox.pending(SHARD, 10)] == [1, 3]
        await b.repos.outbox.mark_relayed(SHARD, [events[0].id])  # again: harmless
        await b.repos.outbox.mark_relayed(SHARD, [])
        assert [e.event["n"] for e in await b.repos.outbox.pending(SHARD, 10)] == [1, 3]

    family.run(work)


def test_relay_sees_only_committed_events(family: Family) -> None:
    """Another process's open transaction is invisible to the relay until it commits."""

    async def work(writer: Backends, relay: Backends) -> None:
        await stage(writer, 1, {"name": "A"})
        async with writer.db.shards[SHARD].transaction() as tx:
            await writer.repos.outbox.stage(tx, 1, {"name": "B"})
            seen = await relay.repos.outbox.pending(SHARD, 10)
            assert [e.event["name"] for e in seen] == ["A"]
        await relay.repos.outbox.mark_relayed(SHARD, [e.id for e in seen])  # B committed meanwhile
        assert [e.event["name"] for e in await relay.repos.outbox.pending(SHARD, 10)] == ["B"]

    family.run_pair(work)


def test_an_event_committed_late_with_a_lower_id_is_still_relayed(family: Family) -> None:
    """Sequences hand out ids at insert, not at commit: a transaction holding id 5 may
    commit after the relay read ids 1 and 10. Deleting "every id up to 10" would drop
    id 5 unrelayed; deleting exactly the ids read keeps it pending."""

    async def work(b: Backends) -> None:
        commit_late = COMMIT_LATE[family.name]
        await commit_late(b, SHARD, 1, 7, {"name": "first"})
        await commit_late(b, SHARD, 10, 7, {"name": "drew a higher id, committed first"})
        read = await b.repos.outbox.pending(SHARD, 100)
        assert [e.id for e in read] == [1, 10]
        await commit_late(b, SHARD, 5, 7, {"name": "late"})  # commits while the relay publishes
        await b.repos.outbox.mark_relayed(SHARD, [e.id for e in read])
        assert [(e.id, e.event["name"]) for e in await b.repos.outbox.pending(SHARD, 100)] == [(5, "late")]

    family.run(work)


class _LateCommitDuringPublish:
    """A log that, while publishing, lets a transaction with a lower id commit."""

    def __init__(self, log: Log, late: Callable[[], Awaitable[None]]) -> None:
        self._log = log
        self._late: Callable[[], Awaitable[None]] | None = late
        self.published: list[dict[str, Any]] = []

    async def append_many(self, items: Any) -> None:
        self.published += [event for _key, event in items]
        await self._log.append_many(items)
        if self._late is not None:
            late, self._late = self._late, None
            await late()


def test_the_relay_publishes_a_late_lower_id_at_the_next_flush(family: Family) -> None:
    async def work(b: Backends) -> None:
        commit_late = COMMIT_LATE[family.name]
        await commit_late(b, SHARD, 1, 7, {"name": "first"})
        await commit_late(b, SHARD, 10, 7, {"name": "second"})
        log = _LateCommitDuringPublish(b.log, lambda: commit_late(b, SHARD, 5, 7, {"name": "late"}))
        outbox = Outbox(b.db, log, Failpoints(), b.repos.outbox)  # type: ignore[arg-type]
        assert await outbox.flush_all() == 3
        assert [e["name"] for e in log.published] == ["first", "second", "late"]
        assert await b.repos.outbox.pending(SHARD, 100) == []

    family.run(work)


def test_pending_events_survive_a_restart_and_relayed_ones_do_not_return(family: Family) -> None:
    async def before(b: Backends) -> None:
        await stage(b, 1, {"n": 0})
        await stage(b, 1, {"n": 1})
        first = (await b.repos.outbox.pending(SHARD, 1))[0]
        await b.repos.outbox.mark_relayed(SHARD, [first.id])

    async def after(b: Backends) -> list[Any]:
        return [e.event["n"] for e in await b.repos.outbox.pending(SHARD, 10)]

    assert family.restart_run(before, after) == [None, [1]]


def test_two_processes_staging_at_once_lose_nothing(family: Family) -> None:
    async def work(one: Backends, two: Backends) -> None:
        await asyncio.gather(*(stage(b, n, {"n": n}) for n in range(20) for b in (one, two)))
        events = await one.repos.outbox.pending(SHARD, 100)
        assert sorted(e.event["n"] for e in events) == sorted([*range(20), *range(20)])
        assert len({e.id for e in events}) == 40

    family.run_pair(work)


def test_concurrent_commits_out_of_id_order_lose_nothing(family: Family) -> None:
    """Two open transactions draw ids in one order and commit in the other; the one that
    drew the lower id commits while the relay publishes what it read. That event is
    pending at the next flush, then published; nothing is published twice."""
    if family.name not in CONCURRENT_WRITERS:
        pytest.skip(f"{family.name}: one writer per shard, ids commit in order (see COMMIT_LATE)")

    async def work(writer: Backends, relay: Backends) -> None:
        shard = writer.db.shards[SHARD]
        drew, commit_now, committed = asyncio.Event(), asyncio.Event(), asyncio.Event()

        async def early_writer() -> None:
            async with shard.transaction() as early:
                await writer.repos.outbox.stage(early, 7, {"name": "drew first, commits last"})
                drew.set()
                await commit_now.wait()
            committed.set()

        async def commit_early() -> None:
            commit_now.set()
            await committed.wait()

        early = asyncio.create_task(early_writer())
        await drew.wait()
        async with shard.transaction() as late:
            await writer.repos.outbox.stage(late, 7, {"name": "drew second, commits first"})
        log = _LateCommitDuringPublish(relay.log, commit_early)
        outbox = Outbox(relay.db, log, Failpoints(), relay.repos.outbox)  # type: ignore[arg-type]
        assert await outbox.flush(relay.db.shards[SHARD]) == 1
        await early
        assert await outbox.flush(relay.db.shards[SHARD]) == 1
        assert await outbox.flush(relay.db.shards[SHARD]) == 0
        assert [e["name"] for e in log.published] == ["drew second, commits first", "drew first, commits last"]
        assert await relay.repos.outbox.pending(SHARD, 10) == []

    family.run_pair(work)
