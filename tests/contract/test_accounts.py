"""Contract of AccountRepository and KeyDirectory (ports/accounts.py), for every family."""

from __future__ import annotations

from typing import Any

import pytest

from roost.domain.entities import Account
from roost.errors import Unprocessable
from roost.ports.accounts import NewAccount, ProfileChange
from roost.services.accounts import AccountsService
from roost.services.context import Backends
from roost.services.outbox import Outbox

from .conftest import ALL_FAMILIES, Family

# Runs on every family whose repositories of this area exist (conftest.py).
FAMILIES = ALL_FAMILIES



def spread(b: Backends, n: int) -> int:
    """The n-th logical shard, taken alternately from each physical shard."""
    physical = len(b.db.shards)
    return b.db.shard_map.logical_shards_on(n % physical)[n // physical]


def new_id(b: Backends, n: int) -> int:
    return b.ids.next_id(spread(b, n))


def new_account(b: Backends, n: int, name: str, *, created: int = 1_000) -> NewAccount:
    return NewAccount(new_id(b, n), name, f"{name.lower()}@example.org", f"hash-{name}", f"{name} Display", created)


def accounts_service(b: Backends) -> AccountsService:
    return AccountsService(b, Outbox(b.db, b.log, b.failpoints, b.repos.outbox))


def on_both_shards(b: Backends, ids: list[int]) -> None:
    """The test is only worth something when its rows span physical shards."""
    assert len({b.db.shard_map.physical_for_id(i) for i in ids}) == 2


# -- AccountRepository --------------------------------------------------------------


def test_insert_then_read_every_field_back(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.accounts
        alice, bob = new_account(b, 0, "Alice", created=111), new_account(b, 1, "bob", created=222)
        on_both_shards(b, [alice.id, bob.id])
        await repo.insert(alice)
        await repo.insert(bob)
        got = await repo.get_many([alice.id, bob.id, new_id(b, 2)])
        assert set(got) == {alice.id, bob.id}
        assert got[alice.id] == Account(
            id=alice.id, username="Alice", display_name="Alice Display", note="", created_at_ms=111,
            locked=False, bot=False, followers_count=0, following_count=0, statuses_count=0,
            last_status_at_ms=None, email="alice@example.org", indexable=False,
        )
        physical = b.db.shard_map.physical_for_id(bob.id)
        assert set(await repo.load_shard(physical, [bob.id])) == {bob.id}
        assert await repo.load_shard(physical, [new_id(b, 1)]) == {}
        assert await repo.password_hash(alice.id) == "hash-Alice"
        assert await repo.password_hash(new_id(b, 0)) is None
        assert await repo.count() == 2
        assert [a.id for a in await repo.list_all()] == sorted([alice.id, bob.id])

    family.run(work)


def test_insert_many_spreads_over_shards(family: Family) -> None:
    async def work(b: Backends) -> None:
        people = [new_account(b, n, f"user{n}") for n in range(8)]
        on_both_shards(b, [p.id for p in people])
        await b.repos.accounts.insert_many(people)
        got = await b.repos.accounts.get_many(p.id for p in people)
        assert {a.username for a in got.values()} == {f"user{n}" for n in range(8)}
        assert await b.repos.accounts.count() == 8

    family.run(work)


def test_update_profile_changes_only_what_is_given(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.accounts
        a = new_account(b, 3, "carol")
        await repo.insert(a)
        async with b.db.for_id(a.id).transaction() as tx:
            await repo.update_profile(tx, a.id, ProfileChange(display_name="Ça Va", note="hi", locked=True))
        got = (await repo.get_many([a.id]))[a.id]
        assert (got.display_name, got.note, got.locked, got.bot, got.indexable) == ("Ça Va", "hi", True, False, False)
        async with b.db.for_id(a.id).transaction() as tx:
            await repo.update_profile(tx, a.id, ProfileChange(bot=True, indexable=True, locked=False))
        got = (await repo.get_many([a.id]))[a.id]
        assert (got.display_name, got.note, got.locked, got.bot, got.indexable) == ("Ça Va", "hi", False, True, True)
        assert await repo.is_indexable(a.id)
        assert not await repo.is_indexable(new_id(b, 3))
        # The lower-cased display name follows the display name (prefix search reads it).
        assert [m.id for m in await repo.prefix_matches("ça", 10)] == [a.id]

    family.run(work)


def test_counters_clamp_at_zero_and_roll_back_with_their_unit_of_work(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.accounts
        a = new_account(b, 5, "dave")
        await repo.insert(a)
        async with b.db.for_id(a.id).transaction() as tx:
            await repo.add_to_counter(tx, a.id, "followers_count", 3)
            await repo.add_to_counter(tx, a.id, "statuses_count", 1, last_status_at_ms=4242)
            await repo.add_to_counter(tx, a.id, "following_count", -2)
        got = (await repo.get_many([a.id]))[a.id]
        assert (got.followers_count, got.statuses_count, got.following_count) == (3, 1, 0)
        assert got.last_status_at_ms == 4242
        with pytest.raises(RuntimeError):
            async with b.db.for_id(a.id).transaction() as tx:
                await repo.add_to_counter(tx, a.id, "followers_count", 10)
                raise RuntimeError("the unit of work fails")
        assert (await repo.get_many([a.id]))[a.id].followers_count == 3
        with pytest.raises(ValueError):
            async with b.db.for_id(a.id).transaction() as tx:
                await repo.add_to_counter(tx, a.id, "id; DROP TABLE accounts", 1)  # type: ignore[arg-type]
        assert await repo.ids_with_followers_at_least(3) == {a.id}
        assert await repo.ids_with_followers_at_least(4) == set()

    family.run(work)


def test_prefix_matches_username_and_display_name_on_every_shard(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.accounts
        ann = new_account(b, 0, "ann")
        anna = new_account(b, 1, "anna")
        zed = NewAccount(new_id(b, 2), "zed", "zed@example.org", "h", "Annie Zed", 1)
        other = new_account(b, 3, "bert")
        for a in (ann, anna, zed, other):
            await repo.insert(a)
        on_both_shards(b, [ann.id, anna.id])
        matches = {m.id: m for m in await repo.prefix_matches("ann", 10)}
        assert set(matches) == {ann.id, anna.id, zed.id}
        assert matches[ann.id].username_lower == "ann"
        assert matches[zed.id].username_lower == "zed"
        # ``limit`` bounds each scan, so one shard never returns more than that per field.
        capped = await repo.prefix_matches("ann", 1)
        assert len(capped) <= 2 * len(b.db.shards)

    family.run(work)


def test_delete_removes_the_account_only(family: Family) -> None:
    async def work(b: Backends) -> None:
        repo = b.repos.accounts
        a, c = new_account(b, 0, "gone"), new_account(b, 1, "kept")
        await repo.insert(a)
        await repo.insert(c)
        await repo.delete(a.id)
        assert set(await repo.get_many([a.id, c.id])) == {c.id}
        assert await repo.count() == 1

    family.run(work)


def test_recount_sets_counters_from_the_stored_rows(family: Family) -> None:
    family.needs("statuses")  # recount counts statuses too

    async def work(b: Backends) -> None:
        repo = b.repos.accounts
        people = [new_account(b, n, f"p{n}") for n in range(4)]
        await repo.insert_many(people)
        ids = [p.id for p in people]
        edges = [(ids[0], ids[1]), (ids[0], ids[2]), (ids[3], ids[1]), (ids[2], ids[1])]
        await b.repos.follows.add_many([(f, t, new_id(b, n)) for n, (f, t) in enumerate(edges)])
        await repo.recount()
        got = await repo.get_many(ids)
        assert [(got[i].following_count, got[i].followers_count) for i in ids] == [(2, 0), (0, 3), (1, 1), (1, 0)]

    family.run(work)


def test_accounts_survive_a_restart(family: Family) -> None:
    made: dict[str, Any] = {}

    async def write(b: Backends) -> None:
        a = new_account(b, 7, "persist")
        made["a"] = a
        await b.repos.accounts.insert(a)
        assert await b.repos.keys.claim("username", "persist", a.id)
        async with b.db.for_id(a.id).transaction() as tx:
            await b.repos.accounts.add_to_counter(tx, a.id, "statuses_count", 2)

    async def read(b: Backends) -> None:
        a = made["a"]
        assert await b.repos.keys.lookup("username", "persist") == a.id
        got = (await b.repos.accounts.get_many([a.id]))[a.id]
        assert (got.username, got.statuses_count) == ("persist", 2)

    family.restart_run(write, read)


# -- KeyDirectory ---------------------------------------------------------------------


def test_a_key_has_one_owner_until_released(family: Family) -> None:
    async def work(b: Backends) -> None:
        keys = b.repos.keys
        assert await keys.lookup("username", "eve") is None
        assert await keys.claim("username", "eve", 1)
        assert not await keys.claim("username", "eve", 2)
        assert await keys.lookup("username", "eve") == 1
        # Kinds are separate namespaces.
        assert await keys.claim("email", "eve", 3)
        await keys.release("username", "eve")
        assert await keys.lookup("username", "eve") is None
        assert await keys.lookup("email", "eve") == 3
        assert await keys.claim("username", "eve", 2)
        assert await keys.lookup("username", "eve") == 2

    family.run(work)


def test_claim_many_leaves_taken_keys_to_their_owner(family: Family) -> None:
    async def work(b: Backends) -> None:
        keys = b.repos.keys
        assert await keys.claim("username", "taken", 9)
        names = [f"n{i}" for i in range(10)]
        held = await keys.claim_many([("username", n, 100 + i) for i, n in enumerate(names)]
                                     + [("username", "taken", 200), ("email", "x@y.z", 201)])
        assert held == {("username", n) for n in names} | {("email", "x@y.z")}
        assert await keys.lookup("username", "taken") == 9
        assert [await keys.lookup("username", n) for n in names] == [100 + i for i in range(10)]
        assert {b.db.shard_map.physical_for_key(f"username:{n}") for n in names} == {0, 1}

    family.run(work)


# -- uniqueness across processes --------------------------------------------------------


async def _nothing(b: Backends) -> None:
    return None


def test_two_processes_claiming_the_same_keys_one_wins_each(family: Family) -> None:
    family.run(_nothing)
    names = [f"race{i}" for i in range(40)]

    async def claim_all(b: Backends, n: int) -> list[bool]:
        return [await b.repos.keys.claim("username", name, 1000 + n) for name in names]

    first, second = family.run_numbered(claim_all)
    assert all(a != b for a, b in zip(first, second, strict=True)), "each key has exactly one winner"

    async def check(b: Backends) -> None:
        for name, won in zip(names, first, strict=True):
            assert await b.repos.keys.lookup("username", name) == (1000 if won else 1001)

    family.run(check)


def test_two_processes_registering_the_same_username_or_email_one_account_each(family: Family) -> None:
    family.run(_nothing)
    rounds = 15

    async def register_all(b: Backends, n: int) -> list[int | None]:
        service = accounts_service(b)
        out: list[int | None] = []
        for r in range(rounds):
            # Even rounds: the same username, two e-mails; odd rounds: two usernames, one e-mail.
            username, email = (f"same{r}", f"p{n}r{r}@example.org") if r % 2 == 0 else (
                f"p{n}r{r}", f"same{r}@example.org")
            try:
                out.append((await service.register(username, email, password_hash="h")).id)
            except Unprocessable as exc:
                assert "already taken" in str(exc.args[0] if exc.args else exc)
                out.append(None)
        return out

    first, second = family.run_numbered(register_all)
    winners = [a if a is not None else b for a, b in zip(first, second, strict=True)]
    assert all((a is None) != (b is None) for a, b in zip(first, second, strict=True)), (first, second)

    async def check(b: Backends) -> None:
        assert await b.repos.accounts.count() == rounds
        stored = await b.repos.accounts.get_many(w for w in winners if w is not None)
        assert len(stored) == rounds
        for r in range(rounds):
            loser = 1 if first[r] is not None else 0
            if r % 2 == 0:
                assert await b.repos.keys.lookup("username", f"same{r}") == winners[r]
                assert await b.repos.keys.lookup("email", f"p{loser}r{r}@example.org") is None
            else:
                assert await b.repos.keys.lookup("email", f"same{r}@example.org") == winners[r]
                # The loser gave back the username it had claimed first.
                assert await b.repos.keys.lookup("username", f"p{loser}r{r}") is None

    family.run(check)


def test_bulk_register_skips_names_another_process_holds(family: Family) -> None:
    async def work(b: Backends) -> None:
        service = accounts_service(b)
        taken = await service.register("holder", "held@example.org", password_hash="h")
        made = await service.bulk_register(
            [("holder", "new@example.org", ""), ("fresh", "held@example.org", ""), ("ok", "ok@example.org", "")],
            "h",
        )
        assert [a.username for a in made] == ["ok"]
        assert await b.repos.accounts.count() == 2
        assert await b.repos.keys.lookup("email", "new@example.org") is None  # given back
        assert await b.repos.keys.lookup("username", "fresh") is None
        assert await b.repos.keys.lookup("username", "holder") == taken.id

    family.run(work)
