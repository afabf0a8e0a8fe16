"""Contract of FollowGraph and FollowRequests (ports/accounts.py), for every family."""

from __future__ import annotations

import asyncio
from typing import Any

from roost.domain.pagination import Page
from roost.ports.accounts import FollowOptions
from roost.services.accounts import FollowsService
from roost.services.context import Backends
from roost.services.outbox import Outbox

from .conftest import ALL_FAMILIES, Family
from .test_accounts import accounts_service, new_account, new_id, on_both_shards

# Runs on every family whose repositories of this area exist (conftest.py).
FAMILIES = ALL_FAMILIES

DEFAULT = FollowOptions(show_reblogs=True, notify=False)


async def people(b: Backends, n: int) -> list[int]:
    made = [new_account(b, i, f"u{i}") for i in range(n)]
    await b.repos.accounts.insert_many(made)
    return [a.id for a in made]


async def follow(b: Backends, follower: int, target: int, options: FollowOptions = DEFAULT) -> tuple[int, bool]:
    """Both halves as FollowsService writes them: each side and its counter in one unit of work."""
    graph, accounts = b.repos.follows, b.repos.accounts
    async with b.db.for_id(follower).transaction() as tx:
        follow_id, created = await graph.add_following(tx, follower, target, b.ids.next_id(0), options)
        if created:
            await accounts.add_to_counter(tx, follower, "following_count", 1)
    async with b.db.for_id(target).transaction() as tx:
        if await graph.add_follower(tx, target, follower, follow_id):
            await accounts.add_to_counter(tx, target, "followers_count", 1)
    return follow_id, created


async def counters(b: Backends, account_id: int) -> tuple[int, int]:
    a = (await b.repos.accounts.get_many([account_id]))[account_id]
    return a.following_count, a.followers_count


# -- FollowGraph ----------------------------------------------------------------------


def test_one_follow_per_pair_keeps_its_id_and_takes_new_options(family: Family) -> None:
    async def work(b: Backends) -> None:
        a, t = await people(b, 2)
        on_both_shards(b, [a, t])
        first, created = await follow(b, a, t)
        assert created
        again, created = await follow(b, a, t, FollowOptions(show_reblogs=False, notify=True))
        assert (again, created) == (first, False)
        assert await b.repos.follows.following_options(a) == {t: FollowOptions(False, True)}
        assert await counters(b, a) == (1, 0)
        assert await counters(b, t) == (0, 1)
        assert await b.repos.follows.followers_among(t, [a, t]) == {a}

    family.run(work)


def test_each_side_is_removed_once(family: Family) -> None:
    async def work(b: Backends) -> None:
        a, t = await people(b, 2)
        follow_id, _ = await follow(b, a, t)
        graph = b.repos.follows
        async with b.db.for_id(t).transaction() as tx:
            assert not await graph.add_follower(tx, t, a, follow_id)  # already there
        async with b.db.for_id(a).transaction() as tx:
            assert await graph.remove_following(tx, a, t)
            assert not await graph.remove_following(tx, a, t)
        async with b.db.for_id(t).transaction() as tx:
            assert await graph.remove_follower(tx, t, a)
            assert not await graph.remove_follower(tx, t, a)
        assert await graph.following_options(a) == {}
        assert await graph.followers_among(t, [a]) == set()
        assert await graph.followers_among(t, []) == set()

    family.run(work)


def test_a_side_written_in_a_failed_unit_of_work_is_not_stored(family: Family) -> None:
    async def work(b: Backends) -> None:
        a, t = await people(b, 2)
        try:
            async with b.db.for_id(a).transaction() as tx:
                await b.repos.follows.add_following(tx, a, t, b.ids.next_id(0), DEFAULT)
                raise RuntimeError("crash before commit")
        except RuntimeError:
            pass
        assert await b.repos.follows.following_options(a) == {}

    family.run(work)


def test_follower_batches_walk_every_follower_in_follow_order(family: Family) -> None:
    async def work(b: Backends) -> None:
        ids = await people(b, 12)
        star, fans = ids[0], ids[1:]
        for fan in reversed(fans):  # follow order is not id order
            await follow(b, fan, star)
        batches = [batch async for batch in b.repos.follows.follower_batches(star, 5)]
        assert [len(x) for x in batches] == [5, 5, 1]
        assert [f for batch in batches for f in batch] == list(reversed(fans))
        assert [x async for x in b.repos.follows.follower_batches(fans[0], 5)] == []

    family.run(work)


def test_pages_are_newest_follow_first_with_mastodon_cursors(family: Family) -> None:
    async def work(b: Backends) -> None:
        ids = await people(b, 7)
        me, others = ids[0], ids[1:]
        cursors = []
        for other in others:
            cursors.append((await follow(b, me, other))[0])
            await follow(b, other, me)
        graph = b.repos.follows
        newest_first = list(reversed(list(zip(cursors, others, strict=True))))
        assert await graph.page(me, "following", Page(limit=40)) == newest_first
        first = await graph.page(me, "following", Page(limit=2))
        assert first == newest_first[:2]
        second = await graph.page(me, "following", Page(limit=2, max_id=first[-1][0]))
        assert second == newest_first[2:4]
        # min_id: the ones just above it, still returned newest first; since_id: the newest above it.
        assert await graph.page(me, "following", Page(limit=2, min_id=cursors[0])) == newest_first[-3:-1]
        assert await graph.page(me, "following", Page(limit=2, since_id=cursors[0])) == newest_first[:2]
        followers = await graph.page(me, "followers", Page(limit=40))
        assert [other for _, other in followers] == list(reversed(others))
        assert [c for c, _ in followers] == sorted((c for c, _ in followers), reverse=True)

    family.run(work)


def test_add_many_writes_both_sides_once(family: Family) -> None:
    async def work(b: Backends) -> None:
        ids = await people(b, 4)
        edges = [(ids[0], ids[1], new_id(b, 0)), (ids[2], ids[1], new_id(b, 1)), (ids[3], ids[0], new_id(b, 2))]
        await b.repos.follows.add_many(edges)
        await b.repos.follows.add_many(edges)  # again: nothing doubles
        assert set(await b.repos.follows.following_options(ids[0])) == {ids[1]}
        assert await b.repos.follows.followers_among(ids[1], ids) == {ids[0], ids[2]}
        assert len(await b.repos.follows.page(ids[1], "followers", Page(limit=40))) == 2

    family.run(work)


def test_remove_all_followers_empties_one_side(family: Family) -> None:
    async def work(b: Backends) -> None:
        ids = await people(b, 3)
        await follow(b, ids[1], ids[0])
        await follow(b, ids[2], ids[0])
        await follow(b, ids[0], ids[1])
        await b.repos.follows.remove_all_followers(ids[0])
        assert await b.repos.follows.followers_among(ids[0], ids) == set()
        assert await b.repos.follows.followers_among(ids[1], ids) == {ids[0]}

    family.run(work)


def test_the_graph_and_its_cursors_survive_a_restart(family: Family) -> None:
    state: dict[str, Any] = {}

    async def write(b: Backends) -> None:
        ids = await people(b, 4)
        state["ids"] = ids
        state["cursors"] = [(await follow(b, ids[0], other))[0] for other in ids[1:]]

    async def read(b: Backends) -> None:
        ids, cursors = state["ids"], state["cursors"]
        page = await b.repos.follows.page(ids[0], "following", Page(limit=2, max_id=cursors[-1]))
        assert page == [(cursors[1], ids[2]), (cursors[0], ids[1])]
        assert await counters(b, ids[0]) == (3, 0)
        # A follow after the restart sorts after the ones before it.
        assert (await follow(b, ids[0], ids[0] + 1))[0] > cursors[-1]

    family.restart_run(write, read)


def test_two_processes_following_one_pair_store_one_edge(family: Family) -> None:
    state: dict[str, list[int]] = {}

    async def setup(b: Backends) -> None:
        state["ids"] = await people(b, 12)

    family.run(setup)
    ids = state["ids"]
    pairs = [(ids[i], ids[(i + 5) % len(ids)]) for i in range(len(ids))]

    async def follow_all(b: Backends, n: int) -> list[bool]:
        return [(await follow(b, f, t))[1] for f, t in pairs]

    first, second = family.run_numbered(follow_all)
    assert all(x != y for x, y in zip(first, second, strict=True)), "each follow is created exactly once"

    async def check(b: Backends) -> None:
        for f, t in pairs:
            assert set(await b.repos.follows.following_options(f)) == {t}
            assert await b.repos.follows.followers_among(t, [f]) == {f}
            assert len(await b.repos.follows.page(t, "followers", Page(limit=40))) == 1
            assert await counters(b, f) == (1, 1)

    family.run(check)


def test_concurrent_follows_through_the_service_count_once(family: Family) -> None:
    async def work(b: Backends) -> None:
        outbox = Outbox(b.db, b.log, b.failpoints, b.repos.outbox)
        accounts = accounts_service(b)
        follows = FollowsService(b, accounts, outbox)
        a = await accounts.register("fan", "fan@example.org", password_hash="h")
        t = await accounts.register("idol", "idol@example.org", password_hash="h")
        await asyncio.gather(*(follows.follow(a.id, t.id) for _ in range(5)))
        assert await counters(b, a.id) == (1, 0)
        assert await counters(b, t.id) == (0, 1)
        assert await follows.following_ids(a.id) == [t.id]

    family.run(work)


# -- FollowRequests ---------------------------------------------------------------------


async def ask(b: Backends, requester: int, target: int, options: FollowOptions = DEFAULT) -> bool:
    async with b.db.for_id(target).transaction() as tx:
        return await b.repos.follow_requests.put(tx, target, requester, b.ids.next_id(0), options)


def test_one_request_per_pair_with_the_latest_options(family: Family) -> None:
    async def work(b: Backends) -> None:
        r, t = await people(b, 2)
        requests = b.repos.follow_requests
        assert await ask(b, r, t)
        assert not await ask(b, r, t, FollowOptions(False, True))
        assert await requests.options(t, r) == FollowOptions(False, True)
        assert await requests.options(r, t) is None
        assert await requests.count(t) == 1
        async with b.db.for_id(t).transaction() as tx:
            assert await requests.remove(tx, t, r)
            assert not await requests.remove(tx, t, r)
        assert await requests.count(t) == 0
        # A request is not a follow.
        assert await b.repos.follows.followers_among(t, [r]) == set()

    family.run(work)


def test_requests_are_listed_and_found_from_either_side(family: Family) -> None:
    async def work(b: Backends) -> None:
        ids = await people(b, 6)
        locked, requesters = ids[0], ids[1:]
        for r in requesters:
            await ask(b, r, locked)
        requests = b.repos.follow_requests
        assert await requests.oldest_requesters(locked, 3) == requesters[:3]
        page = await requests.page(locked, Page(limit=2))
        assert [r for _, r in page] == [requesters[-1], requesters[-2]]
        older = await requests.page(locked, Page(limit=10, max_id=page[-1][0]))
        assert [r for _, r in older] == list(reversed(requesters[:-2]))
        assert await requests.requesters_among(locked, [ids[1], ids[2], locked]) == {ids[1], ids[2]}
        assert await requests.requesters_among(locked, []) == set()
        # The requester's view, across shards: which of these did I ask to follow?
        other = ids[5]
        await ask(b, ids[1], other)
        on_both_shards(b, [locked, other])
        assert await requests.requested_among(ids[1], [locked, other, ids[2]]) == {locked, other}
        await requests.remove_all_from(ids[1])
        assert await requests.requested_among(ids[1], [locked, other]) == set()
        await requests.remove_all_to(locked)
        assert await requests.count(locked) == 0

    family.run(work)


def test_two_processes_asking_at_once_store_one_request(family: Family) -> None:
    state: dict[str, list[int]] = {}

    async def setup(b: Backends) -> None:
        state["ids"] = await people(b, 10)

    family.run(setup)
    ids = state["ids"]

    async def ask_all(b: Backends, n: int) -> list[bool]:
        return [await ask(b, r, ids[0]) for r in ids[1:]]

    first, second = family.run_numbered(ask_all)
    assert all(x != y for x, y in zip(first, second, strict=True))

    async def check(b: Backends) -> None:
        assert await b.repos.follow_requests.count(ids[0]) == len(ids) - 1

    family.run(check)


def test_requests_survive_a_restart(family: Family) -> None:
    state: dict[str, list[int]] = {}

    async def write(b: Backends) -> None:
        state["ids"] = ids = await people(b, 3)
        await ask(b, ids[1], ids[0], FollowOptions(False, True))
        await ask(b, ids[2], ids[0])

    async def read(b: Backends) -> None:
        ids = state["ids"]
        assert await b.repos.follow_requests.oldest_requesters(ids[0], 10) == [ids[1], ids[2]]
        assert await b.repos.follow_requests.options(ids[0], ids[1]) == FollowOptions(False, True)

    family.restart_run(write, read)
