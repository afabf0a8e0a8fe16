"""Write-through of accounts (services/write_through.py): after the database commit the
writer puts the account it committed into the shared cache, ordered by its revision.

Two "processes" are two backends opened on the same store with their caches on the
same Redis (``share_redis_cache``): what one writes, the other reads from the cache at
once. The rule itself (newest revision wins, atomically) is checked over every cache
adapter in test_cache.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from roost.cluster.scratch_redis import RedisServer
from roost.domain.entities import Account
from roost.services.context import Backends
from roost.services.write_through import write_through

from .conftest import ALL_FAMILIES, Family
from .policies import Services, services, share_redis_cache

FAMILIES = ALL_FAMILIES


async def cached_account(b: Backends, account_id: int) -> Account | None:
    """The copy in the cache itself (no fill from the database)."""
    return (await b.cache.get_records("a", [account_id])).get(account_id)


async def stored_account(b: Backends, account_id: int) -> Account:
    return (await b.repos.accounts.get_many([account_id]))[account_id]


def processes(first: Backends, second: Backends, redis: RedisServer) -> tuple[Services, Services]:
    """The services of two processes whose caches are the one Redis."""
    share_redis_cache(first, redis), share_redis_cache(second, redis)
    return services(first), services(second)


def test_a_profile_update_is_in_the_cache_for_every_process_at_once(
        family: Family, redis_fresh: RedisServer) -> None:
    async def work(first: Backends, second: Backends) -> None:
        one, two = processes(first, second, redis_fresh)
        alice = await one.person("alice")
        before = await two.accounts.require(alice.id)  # the second process has it cached
        assert before.display_name == "" and await cached_account(second, alice.id) == before
        updated = await one.accounts.update_credentials(alice.id, display_name="Alice A.", note="hi",
                                                        locked=True, bot=True)
        # Written, not only dropped: the cache holds the new profile before anyone reads it.
        copy = await cached_account(second, alice.id)
        assert copy is not None and copy.display_name == "Alice A." and copy.note == "hi"
        assert copy.locked and copy.bot and copy.revision > before.revision
        seen = await two.accounts.require(alice.id)
        assert seen == updated and seen.version != before.version
        assert seen.revision == (await stored_account(second, alice.id)).revision

    family.run_pair(work)


def test_a_follow_moves_both_counts_in_the_cache_for_every_process(
        family: Family, redis_fresh: RedisServer) -> None:
    async def work(first: Backends, second: Backends) -> None:
        one, two = processes(first, second, redis_fresh)
        fan, idol = await one.person("fan"), await one.person("idol")
        await two.accounts.get_many([fan.id, idol.id])  # cached as they were
        await one.follows.follow(fan.id, idol.id)
        fan_copy, idol_copy = await cached_account(second, fan.id), await cached_account(second, idol.id)
        assert fan_copy is not None and fan_copy.following_count == 1
        assert idol_copy is not None and idol_copy.followers_count == 1
        post = await one.statuses.create(Services.identity(idol), "hello")
        idol_copy = await cached_account(second, idol.id)
        assert idol_copy is not None and idol_copy.statuses_count == 1
        await two.statuses.remove(post)  # the other process writes this time
        await two.follows.unfollow(fan.id, idol.id)
        for account_id in (fan.id, idol.id):
            copy, stored = await cached_account(first, account_id), await stored_account(first, account_id)
            assert copy is not None
            assert (copy.followers_count, copy.following_count, copy.statuses_count) == (0, 0, 0)
            assert copy.revision == stored.revision

    family.run_pair(work)


def test_concurrent_writers_in_two_processes_leave_the_newest_copy_cached(
        family: Family, redis_fresh: RedisServer) -> None:
    rounds = 15

    async def setup(b: Backends) -> int:
        share_redis_cache(b, redis_fresh)
        return (await services(b).person("busy")).id

    account_id: int = family.run(setup)

    async def writer(b: Backends, n: int) -> None:
        share_redis_cache(b, redis_fresh)
        s = services(b)
        for i in range(rounds):
            # Profile writes and counter writes race on the same row and cache entry.
            await s.accounts.update_credentials(account_id, display_name=f"p{n} r{i}")
            await s.accounts.bump(account_id, "statuses_count", 1)

    family.run_numbered(writer, processes=2)

    async def check(b: Backends) -> None:
        share_redis_cache(b, redis_fresh)
        stored, copy = await stored_account(b, account_id), await cached_account(b, account_id)
        assert stored.revision == 4 * rounds and stored.statuses_count == 2 * rounds
        assert copy is not None and copy.revision == stored.revision
        assert copy.display_name == stored.display_name and copy.statuses_count == stored.statuses_count

    family.run(check)


def test_a_writer_that_reaches_the_cache_late_cannot_put_back_an_older_copy(
        family: Family, redis_fresh: RedisServer) -> None:
    async def work(first: Backends, second: Backends) -> None:
        one, two = processes(first, second, redis_fresh)
        account = await one.person("racer")
        shard = first.db.for_id(account.id)
        copies: list[Any] = []
        for _ in ("older", "newer"):
            async with shard.transaction() as tx:
                await first.repos.accounts.add_to_counter(tx, account.id, "followers_count", 1)
                copies.append(await first.repos.accounts.load_in(tx, account.id))
        older, newer = copies
        # Committed in this order, they reach the cache in the other, from two processes at once.
        await write_through(second.cache, "a", newer)
        await asyncio.gather(write_through(first.cache, "a", older), write_through(second.cache, "a", older))
        copy = await cached_account(second, account.id)
        assert copy is not None and copy.revision == newer.revision and copy.followers_count == 2
        assert (await two.accounts.require(account.id)).followers_count == 2

    family.run_pair(work)


def test_a_deleted_account_stays_gone_from_the_cache(family: Family, redis_fresh: RedisServer) -> None:
    async def work(first: Backends, second: Backends) -> None:
        one, two = processes(first, second, redis_fresh)
        account = await one.person("leaving")
        async with first.db.for_id(account.id).transaction() as tx:
            await first.repos.accounts.add_to_counter(tx, account.id, "followers_count", 1)
            late = await first.repos.accounts.load_in(tx, account.id)
        await two.accounts.delete(account.id)
        await write_through(first.cache, "a", late)  # a request that read it before the delete
        assert await cached_account(first, account.id) is None
        assert await one.accounts.get(account.id) is None

    family.run_pair(work)
