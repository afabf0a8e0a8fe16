"""Contract of the statuses repositories (ports/statuses.py), run against every family:
every method, page order, restarts, and races between two openers of one store."""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import pytest

from roost.domain.entities import Application, Status
from roost.domain.ids import IdGenerator, shard_of
from roost.domain.pagination import Page
from roost.errors import Conflict
from roost.ports.statuses import AccountFilter
from roost.services.context import Backends

from .conftest import ALL_FAMILIES, Family

FAMILIES = ALL_FAMILIES

IDS = IdGenerator()
# Logical shards 1 and 40 sit on different physical shards of the two-shard store (64 logical).
ALICE, BOB, CAROL = IDS.next_id(1), IDS.next_id(40), IDS.next_id(1)


def new_status(account_id: int, text: str = "hello", **fields: Any) -> Status:
    return Status(id=IDS.next_id(shard_of(account_id)), account_id=account_id, text=text,
                  content=f"<p>{text}</p>", created_at_ms=1_700_000_000_000, **fields)


async def no_apps(app_id: int) -> Application | None:
    return None


async def put(b: Backends, status: Status, application_id: int | None = None) -> int:
    async with b.db.for_id(status.id).transaction() as tx:
        return await b.repos.statuses.insert(tx, status, application_id)


async def get(b: Backends, status_id: int) -> Status | None:
    return (await b.repos.statuses.get_many([status_id], no_apps)).get(status_id)


def test_two_accounts_live_on_two_shards(family: Family) -> None:
    async def work(b: Backends) -> None:
        assert b.db.shard_map.physical_for_id(ALICE) != b.db.shard_map.physical_for_id(BOB)

    family.run(work)


# -- statuses ---------------------------------------------------------------------------------


def test_insert_get_many_and_delete(family: Family) -> None:
    app = Application(7, "Toot", "https://toot.example", (), (), "cid", "secret")
    full = new_status(ALICE, "every field", visibility="unlisted", sensitive=True, spoiler_text="cw",
                      language="en", mention_ids=(BOB, CAROL), tags=("one", "two"))
    other = new_status(BOB, "on the other shard")

    async def apps(app_id: int) -> Application | None:
        return app if app_id == app.id else None

    async def work(b: Backends) -> None:
        assert await put(b, full, app.id) == full.id
        assert await put(b, other) == other.id
        found = await b.repos.statuses.get_many([full.id, other.id, full.id + 1], apps)
        assert set(found) == {full.id, other.id}
        assert found[full.id] == replace(full, application_name="Toot",
                                         application_website="https://toot.example")
        assert found[other.id] == other
        physical = b.db.shard_map.physical_for_id(full.id)
        assert await b.repos.statuses.load_on(physical, [full.id], no_apps) == {full.id: full}
        assert await b.repos.statuses.load_on(physical, [], no_apps) == {}
        async with b.db.for_id(full.id).transaction() as tx:
            assert await b.repos.statuses.delete(tx, full.id)
        async with b.db.for_id(full.id).transaction() as tx:
            assert not await b.repos.statuses.delete(tx, full.id)
        assert await get(b, full.id) is None

    family.run(work)


def test_a_status_survives_a_restart(family: Family) -> None:
    status = new_status(ALICE, "durable", tags=("kept",))

    async def write(b: Backends) -> None:
        await put(b, status)

    async def read(b: Backends) -> Status | None:
        return await get(b, status.id)

    assert family.restart_run(write, read)[1] == status


def test_account_scans(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.statuses
        public = new_status(ALICE, "public")
        direct = new_status(ALICE, "direct", visibility="direct", mention_ids=(BOB,))
        private = new_status(ALICE, "private", visibility="private")
        for s in (public, direct, private):
            await put(b, s)
        assert await repo.oldest_ids_by(ALICE, 2) == [public.id, direct.id]
        assert await repo.recent_ids(ALICE, 10) == [private.id, public.id]
        assert await repo.public_ids_by(ALICE, None, 10) == [public.id]
        assert await repo.public_ids_by(ALICE, public.id, 10) == []
        assert await repo.direct_mentioning(ALICE, BOB, 10) == [direct.id]
        assert await repo.direct_mentioning(ALICE, CAROL, 10) == []
        assert await repo.direct_mentioning(ALICE, BOB, 1) == []  # only the newest one is scanned

    family.run(work)


def test_account_page_order_and_filters(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.statuses
        ids = [await put(b, new_status(ALICE, f"n{i}", tags=("tag",) if i % 2 else ())) for i in range(6)]
        reply = await put(b, new_status(ALICE, "to bob", in_reply_to_id=ids[0], in_reply_to_account_id=BOB))
        thread = await put(b, new_status(ALICE, "self", in_reply_to_id=ids[0], in_reply_to_account_id=ALICE))
        mention = await put(b, new_status(ALICE, "psst", visibility="direct", mention_ids=(BOB,)))
        secret = await put(b, new_status(ALICE, "followers", visibility="private"))
        everything = [secret, mention, thread, reply, *reversed(ids)]
        everyone = AccountFilter()
        assert await repo.account_page(ALICE, Page(limit=40), everyone) == everything
        assert await repo.account_page(ALICE, Page(limit=2, max_id=reply), everyone) == ids[5:3:-1]
        assert await repo.account_page(ALICE, Page(limit=2, since_id=ids[0]), everyone) == everything[:2]
        # min_id reads the rows just above it, in ascending order.
        assert await repo.account_page(ALICE, Page(limit=2, min_id=ids[0]), everyone) == ids[1:3]
        assert await repo.account_page(ALICE, Page(limit=40, min_id=ids[0], since_id=ids[4]), everyone) == [
            *ids[1:], reply, thread, mention, secret]
        listed = AccountFilter(("public", "unlisted"))
        assert secret not in await repo.account_page(ALICE, Page(limit=40), listed)
        assert mention not in await repo.account_page(ALICE, Page(limit=40), listed)
        as_bob = AccountFilter(("public", "unlisted"), mentioned=BOB)
        assert mention in await repo.account_page(ALICE, Page(limit=40), as_bob)
        as_follower = AccountFilter(("public", "unlisted", "private"), mentioned=CAROL)
        assert await repo.account_page(ALICE, Page(limit=1), as_follower) == [secret]
        no_replies = await repo.account_page(ALICE, Page(limit=40), AccountFilter(exclude_replies=True))
        assert reply not in no_replies and thread in no_replies
        tagged = await repo.account_page(ALICE, Page(limit=40), AccountFilter(tag="tag"))
        assert tagged == [ids[5], ids[3], ids[1]]
        assert await repo.account_page(ALICE, Page(limit=40), AccountFilter(tag="ta")) == []
        assert await repo.account_page(ALICE, Page(limit=40), AccountFilter(tag="t_g")) == []  # no wildcards
        # A tag holding a NUL (PostgreSQL text cannot) finds nothing on either engine.
        assert await repo.account_page(ALICE, Page(limit=40), AccountFilter(tag="ta\x00g")) == []
        with pytest.raises(ValueError):
            await repo.account_page(ALICE, Page(), AccountFilter(("public') OR (1=1",)))

    family.run(work)


def test_public_page_merges_every_shard(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.statuses
        a = await put(b, new_status(ALICE, "a"))
        await put(b, new_status(ALICE, "hidden", visibility="unlisted"))
        c = await put(b, new_status(BOB, "c"))
        boost = new_status(BOB, "", reblog_of_id=a)
        await put(b, boost)
        d = await put(b, new_status(ALICE, "d"))
        # (Ids made in one millisecond order by logical shard, not by creation: compare by id.)
        top = max(a, c, d)
        assert sorted(await repo.public_page(Page(limit=20))) == sorted([a, c, d])
        assert sorted(await repo.public_page(Page(limit=20, max_id=top))) == sorted({a, c, d} - {top})
        assert sorted(await repo.public_page(Page(limit=20, since_id=a))) == sorted([c, d])
        # Each shard gives at most `limit`, its lowest above min_id; the caller selects.
        assert set(await repo.public_page(Page(limit=1, min_id=a))) == {c, d}
        assert await repo.public_page(Page(limit=20, min_id=top)) == []

    family.run(work)


def test_home_pages(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.statuses
        a1 = await put(b, new_status(ALICE, "a1"))
        a2 = await put(b, new_status(ALICE, "a2", visibility="direct", mention_ids=(CAROL,)))
        a3 = await put(b, new_status(ALICE, "a3", visibility="direct", mention_ids=(BOB,)))
        b1 = await put(b, new_status(BOB, "b1", visibility="direct"))
        b2 = await put(b, new_status(BOB, "b2"))
        pages = await repo.home_pages(BOB, {ALICE: None, BOB: None, CAROL: None}, 10)
        assert pages == {ALICE: [a3, a1], BOB: [b2, b1]}
        assert await repo.home_pages(BOB, {ALICE: a3, BOB: b2}, 1) == {ALICE: [a1], BOB: [b1]}
        assert a2 not in (await repo.home_pages(BOB, {ALICE: None}, 10))[ALICE]

    family.run(work)


def test_viewer_sets_flags_and_reblogged_ids(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.statuses
        one, two = await put(b, new_status(BOB, "one")), await put(b, new_status(BOB, "two"))
        await put(b, new_status(ALICE, "", reblog_of_id=one))
        await put(b, new_status(ALICE, "", reblog_of_id=two))
        async with b.db.for_id(ALICE).transaction() as tx:
            await b.repos.favourites.record_account_side(tx, ALICE, two, IDS.next_id(shard_of(ALICE)))
        sets = await repo.viewer_sets(ALICE, 5)
        assert sets == (frozenset({two}), frozenset({one, two}))
        assert await repo.viewer_sets(ALICE, 1) is None  # two reblogs: more than the limit
        assert await repo.viewer_flags(ALICE, [one, two, 5]) == ({two}, {one, two})
        assert await repo.viewer_flags(ALICE, []) == (set(), set())
        assert await repo.reblogged_ids(ALICE, None, None, 10) == [two, one]
        assert await repo.reblogged_ids(ALICE, two, None, 10) == [one]
        assert await repo.reblogged_ids(ALICE, None, one, 10) == [two]
        assert await repo.reblog_of(ALICE, one) is not None
        assert await repo.reblog_of(BOB, one) is None

    family.run(work)


# -- one reblog per account and original --------------------------------------------------------


def test_a_second_reblog_returns_the_first(family: Family) -> None:
    async def work(b: Backends) -> None:
        original = await put(b, new_status(BOB, "boost me"))
        first = new_status(ALICE, "", reblog_of_id=original)
        second = new_status(ALICE, "", reblog_of_id=original)
        assert await put(b, first) == first.id
        assert await put(b, second) == first.id
        assert await get(b, second.id) is None
        assert await b.repos.statuses.reblog_of(ALICE, original) == first.id
        # Another account may reblog it too.
        carol = new_status(CAROL, "", reblog_of_id=original)
        assert await put(b, carol) == carol.id

    family.run(work)


def test_the_store_itself_refuses_a_second_reblog(family: Family) -> None:
    """The constraint, not a check in front of it: a raw second row is refused."""

    async def work(b: Backends) -> None:
        first, second = (new_status(ALICE, "", reblog_of_id=12345) for _ in range(2))
        await put(b, first)
        shard: Any = b.db.for_id(second.id)
        with pytest.raises(Exception) as refused:
            await shard.execute(
                "INSERT INTO statuses (id, account_id, text, content, visibility, reblog_of_id, created_at)"
                " VALUES (?, ?, '', '', 'public', ?, 0)", (second.id, ALICE, 12345))
        # SQLite names the rule's columns; the PostgreSQL adapter raises Conflict naming the index.
        if isinstance(refused.value, Conflict):
            assert refused.value.constraint == "statuses_one_reblog"
        else:
            assert "UNIQUE constraint failed: statuses.account_id, statuses.reblog_of_id" in str(refused.value)

    family.run(work)


def test_one_reblog_per_account_survives_a_restart(family: Family) -> None:
    original = new_status(BOB, "boost me")
    first, second = (new_status(ALICE, "", reblog_of_id=original.id) for _ in range(2))

    async def before(b: Backends) -> int:
        await put(b, original)
        return await put(b, first)

    async def after(b: Backends) -> tuple[int, int | None]:
        return await put(b, second), await b.repos.statuses.reblog_of(ALICE, original.id)

    assert family.restart_run(before, after) == [first.id, (first.id, first.id)]


def race(family: Family, check: Any, write: Any) -> list[Any]:
    """Two openers of one store: both ``check`` first, then (after both did) both
    ``write`` - the interleaving that defeats check-then-insert."""
    both_checked = threading.Barrier(2, timeout=30)

    def contender(i: int) -> Any:
        async def work(b: Backends) -> Any:
            seen = await check(b)
            both_checked.wait()
            return seen, await write(b, i)

        return work

    return family.run_at_once(contender(0), contender(1))


def test_racing_reblogs_in_two_openers_store_one(family: Family) -> None:
    original = new_status(BOB, "boost me")
    family.run(lambda b: put(b, original))
    wrappers = [new_status(ALICE, "", reblog_of_id=original.id) for _ in range(2)]

    async def check(b: Backends) -> int | None:
        return await b.repos.statuses.reblog_of(ALICE, original.id)

    async def write(b: Backends, i: int) -> int:
        return await put(b, wrappers[i])

    results = race(family, check, write)
    assert [seen for seen, _ in results] == [None, None]
    stored = {kept for _, kept in results}
    assert len(stored) == 1 and stored <= {w.id for w in wrappers}

    async def after(b: Backends) -> list[int]:
        return await b.repos.statuses.oldest_ids_by(ALICE, 10)

    assert family.run(after) == list(stored)


# -- idempotency keys ---------------------------------------------------------------------------


def test_idempotency_keys(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.statuses
        first, second = new_status(ALICE, "once"), new_status(ALICE, "twice")
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await repo.claim_idempotency_key(tx, ALICE, "k", first.id, 1000, 0) is None
            await repo.insert(tx, first, None)
        assert await repo.idempotent_status_id(ALICE, "k", 1000) == first.id
        assert await repo.idempotent_status_id(ALICE, "k", 1001) is None  # older than asked
        assert await repo.idempotent_status_id(ALICE, "other", 0) is None
        assert await repo.idempotent_status_id(BOB, "k", 0) is None
        assert await repo.idempotent_status_id(ALICE, "k\x00", 0) is None  # no stored key holds a NUL
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await repo.claim_idempotency_key(tx, ALICE, "k", second.id, 2000, 1000) == first.id
        # Expired: taken over.
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await repo.claim_idempotency_key(tx, ALICE, "k", second.id, 2000, 1001) is None
            await repo.insert(tx, second, None)
        assert await repo.idempotent_status_id(ALICE, "k", 0) == second.id
        # Its status deleted: taken over too.
        async with b.db.for_id(ALICE).transaction() as tx:
            await repo.delete(tx, second.id)
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await repo.claim_idempotency_key(tx, ALICE, "k", first.id, 3000, 0) is None

    family.run(work)


def race_for_key(family: Family, key: str, now_ms: int) -> tuple[list[int | None], set[int], set[int]]:
    """Two openers each post a new status under ``key`` (claim it, then insert unless
    another status holds it), both after seeing what the key held. Returns what each saw,
    the status ids they answered with, and the ids of the two statuses they posted."""
    statuses = [new_status(ALICE, "retry"), new_status(ALICE, "retry")]

    async def check(b: Backends) -> int | None:
        return await b.repos.statuses.idempotent_status_id(ALICE, key, 0)

    async def write(b: Backends, i: int) -> int:
        s = statuses[i]
        async with b.db.for_id(s.id).transaction() as tx:
            holder = await b.repos.statuses.claim_idempotency_key(tx, ALICE, key, s.id, now_ms, 0)
            if holder is not None:
                return holder
            return await b.repos.statuses.insert(tx, s, None)

    results = race(family, check, write)
    return [seen for seen, _ in results], {answer for _, answer in results}, {s.id for s in statuses}


async def alices_statuses(b: Backends) -> list[int]:
    return await b.repos.statuses.oldest_ids_by(ALICE, 10)


def test_racing_idempotency_keys_in_two_openers_store_one_status(family: Family) -> None:
    seen, answers, _posted = race_for_key(family, "same-key", 5000)
    assert seen == [None, None]
    assert len(answers) == 1

    async def holder(b: Backends) -> int | None:
        return await b.repos.statuses.idempotent_status_id(ALICE, "same-key", 0)

    assert family.run(alices_statuses) == list(answers)
    assert family.run(holder) == answers.pop()


def test_racing_takeovers_of_a_key_whose_status_was_deleted_store_one_status(family: Family) -> None:
    gone = new_status(ALICE, "deleted since")

    async def setup(b: Backends) -> None:
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await b.repos.statuses.claim_idempotency_key(tx, ALICE, "key", gone.id, 1000, 0) is None
            await b.repos.statuses.insert(tx, gone, None)
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await b.repos.statuses.delete(tx, gone.id)

    family.run(setup)
    seen, answers, posted = race_for_key(family, "key", 2000)
    assert seen == [gone.id, gone.id]  # the key still names the deleted one
    assert len(answers) == 1 and answers <= posted
    assert family.run(alices_statuses) == list(answers)


# -- threads and reblogger lists ----------------------------------------------------------------


def test_thread_links_keep_their_counter(family: Family) -> None:
    async def work(b: Backends) -> None:
        links = b.repos.thread_links
        parent = await put(b, new_status(BOB, "parent"))
        r1, r2 = IDS.next_id(shard_of(ALICE)), IDS.next_id(shard_of(CAROL))
        for reply in (r2, r1, r1):
            async with b.db.for_id(parent).transaction() as tx:
                await links.link(tx, parent, reply)
        assert await links.replies(parent) == [r1, r2]
        assert (await get(b, parent)).replies_count == 2  # type: ignore[union-attr]
        async with b.db.for_id(parent).transaction() as tx:
            assert await links.unlink(tx, parent, r1)
            assert not await links.unlink(tx, parent, r1)
        assert await links.replies(parent) == [r2]
        assert (await get(b, parent)).replies_count == 1  # type: ignore[union-attr]

    family.run(work)


def test_a_rolled_back_link_leaves_no_counter(family: Family) -> None:
    async def work(b: Backends) -> None:
        parent = await put(b, new_status(BOB, "parent"))
        with pytest.raises(RuntimeError):
            async with b.db.for_id(parent).transaction() as tx:
                await b.repos.thread_links.link(tx, parent, 99)
                raise RuntimeError("crash before commit")
        assert await b.repos.thread_links.replies(parent) == []
        assert (await get(b, parent)).replies_count == 0  # type: ignore[union-attr]

    family.run(work)


def test_reblogger_list(family: Family) -> None:
    async def work(b: Backends) -> None:
        reblogs = b.repos.reblogs
        original = await put(b, new_status(BOB, "boost me"))
        w_alice, w_carol = IDS.next_id(shard_of(ALICE)), IDS.next_id(shard_of(CAROL))
        async with b.db.for_id(original).transaction() as tx:
            assert await reblogs.link(tx, original, ALICE, w_alice)
            assert await reblogs.link(tx, original, CAROL, w_carol)
            assert not await reblogs.link(tx, original, ALICE, IDS.next_id(shard_of(ALICE)))
        assert (await get(b, original)).reblogs_count == 2  # type: ignore[union-attr]
        assert sorted(await reblogs.wrappers(original)) == [w_alice, w_carol]
        assert await reblogs.page(original, Page(limit=10)) == [(w_carol, CAROL), (w_alice, ALICE)]
        assert await reblogs.page(original, Page(limit=1)) == [(w_carol, CAROL)]
        assert await reblogs.page(original, Page(limit=1, min_id=0)) == [(w_alice, ALICE)]
        assert await reblogs.page(original, Page(limit=10, max_id=w_carol)) == [(w_alice, ALICE)]
        assert await reblogs.page(original, Page(limit=10, since_id=w_alice)) == [(w_carol, CAROL)]
        async with b.db.for_id(original).transaction() as tx:
            assert not await reblogs.unlink(tx, original, ALICE, w_carol)  # not that wrapper
            assert await reblogs.unlink(tx, original, ALICE, w_alice)
        assert await reblogs.wrappers(original) == [w_carol]
        assert (await get(b, original)).reblogs_count == 1  # type: ignore[union-attr]

    family.run(work)


# -- favourites ---------------------------------------------------------------------------------


def test_favourites_both_halves(family: Family) -> None:
    async def work(b: Backends) -> None:
        favs = b.repos.favourites
        s1, s2 = await put(b, new_status(BOB, "one")), await put(b, new_status(BOB, "two"))
        f1, f2, f3 = (IDS.next_id(shard_of(ALICE)) for _ in range(3))
        async with b.db.for_id(s1).transaction() as tx:
            assert await favs.add(tx, s1, ALICE, f1)
            assert not await favs.add(tx, s1, ALICE, f3)
            assert await favs.add(tx, s1, CAROL, f2)
        assert (await get(b, s1)).favourites_count == 2  # type: ignore[union-attr]
        assert await favs.favourite_id(s1, ALICE) == f1
        assert await favs.favourite_id(s2, ALICE) is None
        assert await favs.page(s1, Page(limit=10)) == [(f2, CAROL), (f1, ALICE)]
        assert await favs.page(s1, Page(limit=1, min_id=f1)) == [(f2, CAROL)]
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await favs.record_account_side(tx, ALICE, s1, f1)
            assert not await favs.record_account_side(tx, ALICE, s1, f1)
            assert await favs.record_account_side(tx, ALICE, s2, f3)
        assert await favs.account_page(ALICE, Page(limit=10)) == [(f3, s2), (f1, s1)]
        assert await favs.account_page(ALICE, Page(limit=10, max_id=f3)) == [(f1, s1)]
        assert await favs.account_page(ALICE, Page(limit=10, since_id=f1)) == [(f3, s2)]
        assert await favs.status_ids_of(ALICE, None, None, 10) == [s2, s1]
        assert await favs.status_ids_of(ALICE, s2, None, 10) == [s1]
        assert await favs.status_ids_of(ALICE, None, s1, 10) == [s2]
        async with b.db.for_id(s1).transaction() as tx:
            assert await favs.remove(tx, s1, ALICE)
            assert not await favs.remove(tx, s1, ALICE)
        assert (await get(b, s1)).favourites_count == 1  # type: ignore[union-attr]
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await favs.forget_account_side(tx, ALICE, s1)
            assert not await favs.forget_account_side(tx, ALICE, s1)
        assert await favs.status_ids_of(ALICE, None, None, 10) == [s2]

    family.run(work)


def test_racing_favourites_in_two_openers_count_one(family: Family) -> None:
    status = new_status(BOB, "like me")
    family.run(lambda b: put(b, status))
    favourite_ids = [IDS.next_id(shard_of(ALICE)) for _ in range(2)]

    async def check(b: Backends) -> int | None:
        return await b.repos.favourites.favourite_id(status.id, ALICE)

    async def write(b: Backends, i: int) -> bool:
        async with b.db.for_id(status.id).transaction() as tx:
            return await b.repos.favourites.add(tx, status.id, ALICE, favourite_ids[i])

    results = race(family, check, write)
    assert [seen for seen, _ in results] == [None, None]
    assert sorted(added for _, added in results) == [False, True]

    async def after(b: Backends) -> tuple[int, list[tuple[int, int]]]:
        found = await get(b, status.id)
        assert found is not None
        return found.favourites_count, await b.repos.favourites.page(status.id, Page())

    count, page = family.run(after)
    assert count == 1 and len(page) == 1 and page[0][1] == ALICE


def test_counters_never_go_below_zero(family: Family) -> None:
    async def work(b: Backends) -> None:
        s = await put(b, new_status(BOB, "zero"))
        async with b.db.for_id(s).transaction() as tx:
            await b.repos.favourites.add(tx, s, ALICE, 1)
        shard: Any = b.db.for_id(s)
        await shard.execute("UPDATE statuses SET favourites_count = 0 WHERE id = ?", (s,))
        async with b.db.for_id(s).transaction() as tx:
            assert await b.repos.favourites.remove(tx, s, ALICE)
        assert (await get(b, s)).favourites_count == 0  # type: ignore[union-attr]

    family.run(work)
