"""The notifications repository: every method, idempotency by a uniqueness rule of the
store (a replayed event notifies once, also from two processes at once), restarts."""

from __future__ import annotations

import asyncio
from typing import Any

from roost.domain.entities import Notification
from roost.domain.ids import IdGenerator, compose
from roost.domain.pagination import Page
from roost.services.context import Backends

from .conftest import ALL_FAMILIES, Family

FAMILIES = ALL_FAMILIES

ALICE = compose(1_000, 3, 0)  # recipients on different logical shards
BOB = compose(1_000, 40, 0)
CAROL = compose(1_000, 7, 0)
STATUS = compose(2_000, 3, 0)
IDS = IdGenerator()


def note(recipient: int, type_: str, sender: int, status_id: int | None = None) -> Notification:
    return Notification(IDS.next_id(3 if recipient == ALICE else 40), recipient, type_, sender, status_id, 1_000)


async def add(b: Backends, n: Notification) -> bool:
    async with b.db.for_id(n.account_id).transaction() as tx:
        return await b.repos.notifications.add(tx, n)


EVERYTHING = Page(limit=40)


async def ids(b: Backends, account_id: int, page: Page = EVERYTHING, **filters: Any) -> list[int]:
    return [n.id for n in await b.repos.notifications.page(account_id, page, **filters)]


def test_add_then_get_round_trips_every_field(family: Family) -> None:
    async def work(b: Backends) -> None:
        mention, follow = note(ALICE, "mention", BOB, STATUS), note(ALICE, "follow", BOB)
        assert await add(b, mention) and await add(b, follow)
        assert await b.repos.notifications.get(ALICE, mention.id) == mention
        assert await b.repos.notifications.get(ALICE, follow.id) == follow  # status_id None stays None
        assert await b.repos.notifications.get(BOB, mention.id) is None  # only the recipient's
        assert await b.repos.notifications.get(ALICE, compose(1, 3, 0)) is None  # no such id

    family.run(work)


def test_a_replayed_event_notifies_once(family: Family) -> None:
    async def work(b: Backends) -> None:
        assert await add(b, note(ALICE, "favourite", BOB, STATUS))
        assert not await add(b, note(ALICE, "favourite", BOB, STATUS))  # same event, new id
        assert await add(b, note(ALICE, "follow", BOB))
        assert not await add(b, note(ALICE, "follow", BOB))  # about no status: still once
        assert await add(b, note(ALICE, "favourite", CAROL, STATUS))  # another sender
        assert await add(b, note(ALICE, "reblog", BOB, STATUS))  # another type
        assert len(await ids(b, ALICE)) == 4

    family.run(work)


def test_two_processes_replaying_one_event_at_once_notify_once(family: Family) -> None:
    async def work(one: Backends, two: Backends) -> None:
        results = await asyncio.gather(*(add(b, note(ALICE, "mention", BOB, STATUS)) for b in (one, two) * 5))
        assert sum(results) == 1
        assert len(await ids(one, ALICE)) == 1 and len(await ids(two, ALICE)) == 1

    family.run_pair(work)


def test_two_processes_in_their_own_threads_replaying_one_event_notify_once(family: Family) -> None:
    """Like separate processes (own event loop, own backends): only the store keeps them apart."""

    async def replay(b: Backends, n: int) -> int:
        return sum([await add(b, note(ALICE, "reblog", BOB, STATUS)) for _ in range(5)])

    assert sum(family.run_numbered(replay, processes=3)) == 1

    async def stored(b: Backends) -> list[int]:
        return await ids(b, ALICE)

    assert len(family.run(stored)) == 1


def test_page_is_newest_first_filtered_and_bounded(family: Family) -> None:
    async def work(b: Backends) -> None:
        made = [note(ALICE, type_, sender, STATUS + n)
                for n, (type_, sender) in enumerate([("mention", BOB), ("favourite", CAROL), ("reblog", BOB),
                                                     ("favourite", BOB), ("mention", CAROL)])]
        for n in made:
            await add(b, n)
        await add(b, note(BOB, "mention", ALICE, STATUS))  # someone else's
        every = [n.id for n in reversed(made)]
        assert await ids(b, ALICE) == every
        assert await ids(b, ALICE, Page(limit=2)) == every[:2]
        assert await ids(b, ALICE, Page(limit=40, max_id=every[1])) == every[2:]
        assert await ids(b, ALICE, Page(limit=40, since_id=every[3])) == every[:3]
        assert await ids(b, ALICE, Page(limit=2, min_id=every[4])) == every[2:4]  # just above min_id
        assert await ids(b, ALICE, types=["favourite"]) == [made[3].id, made[1].id]
        assert await ids(b, ALICE, exclude_types=["favourite", "reblog"]) == [made[4].id, made[0].id]
        assert await ids(b, ALICE, from_account_id=CAROL) == [made[4].id, made[1].id]
        assert await ids(b, ALICE, types=["mention"], from_account_id=BOB) == [made[0].id]
        assert await ids(b, CAROL) == []
        # A type holding a NUL (PostgreSQL text cannot) matches nothing, on either engine.
        assert await ids(b, ALICE, types=["mention\x00"]) == []
        assert await ids(b, ALICE, types=["mention\x00", "reblog"]) == [made[2].id]
        assert await ids(b, ALICE, exclude_types=["favourite\x00"]) == every

    family.run(work)


def test_remove_and_clear(family: Family) -> None:
    async def work(b: Backends) -> None:
        kept, gone = note(ALICE, "mention", BOB, STATUS), note(ALICE, "follow", CAROL)
        other = note(BOB, "follow", ALICE)
        for n in (kept, gone, other):
            await add(b, n)
        async with b.db.for_id(ALICE).transaction() as tx:
            assert await b.repos.notifications.remove(tx, ALICE, gone.id)
            assert not await b.repos.notifications.remove(tx, ALICE, gone.id)
            assert not await b.repos.notifications.remove(tx, ALICE, other.id)  # not hers
        assert await ids(b, ALICE) == [kept.id]
        async with b.db.for_id(ALICE).transaction() as tx:
            await b.repos.notifications.clear(tx, ALICE)
        assert await ids(b, ALICE) == []
        assert await ids(b, BOB) == [other.id]

    family.run(work)


def test_remove_from_withdraws_only_the_statusless_notification_of_that_type_and_sender(family: Family) -> None:
    async def work(b: Backends) -> None:
        request = note(ALICE, "follow_request", BOB)
        others = [note(ALICE, "follow_request", CAROL), note(ALICE, "follow", BOB),
                  note(ALICE, "mention", BOB, STATUS)]
        for n in (request, *others):
            await add(b, n)
        async with b.db.for_id(ALICE).transaction() as tx:
            await b.repos.notifications.remove_from(tx, ALICE, "follow_request", BOB)
        assert sorted(await ids(b, ALICE)) == sorted(n.id for n in others)
        assert await add(b, note(ALICE, "follow_request", BOB))  # asked again: notified again

    family.run(work)


def test_remove_about_status(family: Family) -> None:
    async def work(b: Backends) -> None:
        about = [note(ALICE, "mention", BOB, STATUS), note(ALICE, "favourite", CAROL, STATUS)]
        kept = [note(ALICE, "mention", BOB, STATUS + 1), note(ALICE, "follow", BOB)]
        for n in (*about, *kept):
            await add(b, n)
        async with b.db.for_id(ALICE).transaction() as tx:
            await b.repos.notifications.remove_about_status(tx, ALICE, STATUS)
        assert sorted(await ids(b, ALICE)) == sorted(n.id for n in kept)

    family.run(work)


def test_a_rolled_back_add_leaves_nothing(family: Family) -> None:
    async def work(b: Backends) -> None:
        try:
            async with b.db.for_id(ALICE).transaction() as tx:
                await b.repos.notifications.add(tx, note(ALICE, "mention", BOB, STATUS))
                raise RuntimeError("rolled back")
        except RuntimeError:
            pass
        assert await ids(b, ALICE) == []
        assert await add(b, note(ALICE, "mention", BOB, STATUS))

    family.run(work)


def test_notifications_and_their_uniqueness_survive_a_restart(family: Family) -> None:
    first = note(ALICE, "mention", BOB, STATUS)

    async def before(b: Backends) -> None:
        await add(b, first)

    async def after(b: Backends) -> tuple[Notification | None, bool]:
        return await b.repos.notifications.get(ALICE, first.id), await add(b, note(ALICE, "mention", BOB, STATUS))

    assert family.restart_run(before, after)[1] == (first, False)
