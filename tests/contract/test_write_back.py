"""Write-back of status counters (services/status_counters.py): favourites, reblogs and
replies commit their rows in the database at once; their counters wait in Redis as
deltas until a flusher applies them in batches. Readers see database + pending.

The loss window is shown, not only stated: deltas not yet flushed when Redis loses
its memory are lost from the counters (exactly those), and the recount from the
relation rows brings them back; a clean shutdown flushes everything.
"""

from __future__ import annotations

import asyncio
import dataclasses

from roost.adapters.redis.client import connect
from roost.cluster.scratch_redis import RedisServer
from roost.cluster.supervisor import spare_ports
from roost.domain.entities import Identity, Status
from roost.domain.pagination import Page
from roost.runtime.counters import use_counter_policy
from roost.services.context import Backends
from roost.services.status_counters import WriteBackCounters

from .conftest import ALL_FAMILIES, Family
from .policies import Services, services, share_redis_cache

FAMILIES = ALL_FAMILIES


def write_back(b: Backends, redis: RedisServer, *, batch: int = 1000, redis_port: int | None = None) -> Services:
    """``b`` as the cluster shape opens it: shared cache and counter deltas on Redis (a
    flush interval far beyond any test, so only the test flushes)."""
    share_redis_cache(b, redis)
    b.settings = dataclasses.replace(b.settings, counter_policy="write_back", counter_flush_batch=batch,
                                     counter_flush_interval_seconds=3600.0)
    client = redis.client() if redis_port is None else connect(redis.host, redis_port, socket_timeout=0.5)
    b.on_close.append(client.aclose)
    use_counter_policy(b, client)
    return services(b)


def policy(s: Services) -> WriteBackCounters:
    counters = s.backends.counters
    assert isinstance(counters, WriteBackCounters)
    return counters


async def stored(s: Services, status_id: int) -> tuple[int, int, int]:
    """The counters in the database itself (no cache, no pending deltas)."""
    found = await s.backends.repos.statuses.get_many([status_id], lambda _: _no_app())
    status = found[status_id]
    return status.favourites_count, status.reblogs_count, status.replies_count


async def _no_app() -> None:
    return None


async def seen(s: Services, status_id: int) -> tuple[int, int, int]:
    """The counters as every reader gets them."""
    status: Status = (await s.statuses.get_many([status_id]))[status_id]
    return status.favourites_count, status.reblogs_count, status.replies_count


async def first_post(s: Services, text: str) -> tuple[Identity, Status]:
    """An author and its status."""
    author = Services.identity(await s.person("author"))
    return author, await s.statuses.create(author, text)


async def crowd(s: Services, n: int, prefix: str = "fan") -> list[Identity]:
    return [Services.identity(await s.person(f"{prefix}{i}")) for i in range(n)]


def test_counts_are_seen_at_once_and_reach_the_database_in_batches(
        family: Family, redis_fresh: RedisServer) -> None:
    async def work(b: Backends) -> None:
        s = write_back(b, redis_fresh, batch=2)
        author = Services.identity(await s.person("author"))
        posts = [await s.statuses.create(author, f"post {i}") for i in range(3)]
        fans = await crowd(s, 3)
        for post in posts:
            for fan in fans:
                assert (await s.interactions.favourite(fan, post.id)).favourites_count == fans.index(fan) + 1
        await s.interactions.reblog(fans[0], posts[0].id)
        await s.statuses.create(fans[1], "a reply", in_reply_to_id=posts[0].id)
        await s.interactions.unfavourite(fans[2], posts[1].id)
        # Nothing in the database yet, every count for readers.
        assert [await stored(s, p.id) for p in posts] == [(0, 0, 0)] * 3
        assert [await seen(s, p.id) for p in posts] == [(3, 1, 1), (2, 0, 0), (3, 0, 0)]
        # One batch of two deltas ("<status>:<counter>" fields); readers see the same throughout.
        final = [(3, 1, 1), (2, 0, 0), (3, 0, 0)]
        assert await policy(s).flush_once() == 2
        in_db = [await stored(s, p.id) for p in posts]
        applied = [(n, c) for n, counts in enumerate(in_db) for c, v in enumerate(counts) if v]
        assert len(applied) == 2 and all(in_db[n][c] == final[n][c] for n, c in applied)
        assert [await seen(s, p.id) for p in posts] == final
        await policy(s).flush_all()
        assert [await stored(s, p.id) for p in posts] == [(3, 1, 1), (2, 0, 0), (3, 0, 0)]
        assert [await seen(s, p.id) for p in posts] == [(3, 1, 1), (2, 0, 0), (3, 0, 0)]
        assert await policy(s).flush_once() == 0  # nothing left

    family.run(work)


def test_the_loss_window_is_the_unflushed_deltas_and_the_recount_repairs_it(
        family: Family, redis_fresh: RedisServer) -> None:
    async def work(b: Backends) -> None:
        s = write_back(b, redis_fresh)
        _, post = await first_post(s, "popular")
        fans = await crowd(s, 5)
        for fan in fans[:2]:
            await s.interactions.favourite(fan, post.id)
        await policy(s).flush_all()  # these two are in the database now
        for fan in fans[2:]:
            await s.interactions.favourite(fan, post.id)
        await s.interactions.reblog(fans[0], post.id)
        assert await seen(s, post.id) == (5, 1, 0)
        redis_fresh.flush()  # Redis loses its memory before the next flush
        await policy(s).flush_all()
        # Exactly the unflushed deltas are gone from the counter (3 favourites, 1 reblog);
        # the rows they counted are all there.
        assert await stored(s, post.id) == (2, 0, 0) and await seen(s, post.id) == (2, 0, 0)
        assert len(await s.interactions.favourited_by(post.id, None, Page(limit=40))) == 5
        # The reconcile job recounts from the favourites, reblogs and replies rows.
        assert await policy(s).recount([post.id]) == [post.id]
        assert await policy(s).recount([post.id]) == []  # exact now
        assert await stored(s, post.id) == (5, 1, 0) and await seen(s, post.id) == (5, 1, 0)
        # A recount of everything leaves exact counters exact.
        await s.interactions.unfavourite(fans[0], post.id)
        redis_fresh.flush()
        assert await seen(s, post.id) == (5, 1, 0)  # the unfavourite's delta was lost
        assert await policy(s).recount() == [post.id]
        assert await stored(s, post.id) == (4, 1, 0) and await seen(s, post.id) == (4, 1, 0)

    family.run(work)


def test_a_clean_shutdown_flushes_every_delta(family: Family, redis_fresh: RedisServer) -> None:
    async def interact(b: Backends) -> int:
        s = write_back(b, redis_fresh)
        author, post = await first_post(s, "before shutdown")
        for fan in await crowd(s, 4):
            await s.interactions.favourite(fan, post.id)
            await s.interactions.reblog(fan, post.id)
        await s.statuses.create(author, "self reply", in_reply_to_id=post.id)
        assert await stored(s, post.id) == (0, 0, 0)
        return post.id  # the backends close here: the flusher's last round

    async def after_restart(b: Backends) -> tuple[tuple[int, int, int], int]:
        s = services(b)  # the embedded default (transactional): the database alone
        client = redis_fresh.client()
        try:
            left = await client.hlen("roost:counters:pending") + await client.hlen("roost:counters:batch")
        finally:
            await client.aclose()
        return await stored(s, post_id), left

    post_id = family.run(interact)
    assert family.run(after_restart) == ((4, 4, 1), 0)


def test_flushers_of_two_processes_apply_each_delta_once(family: Family, redis_fresh: RedisServer) -> None:
    async def setup(b: Backends) -> list[int]:
        s = write_back(b, redis_fresh)
        author = Services.identity(await s.person("author"))
        return [(await s.statuses.create(author, f"post {i}")).id for i in range(4)]

    posts: list[int] = family.run(setup)

    async def process(b: Backends, n: int) -> None:
        s = write_back(b, redis_fresh, batch=3)
        fans = await crowd(s, 3, prefix=f"p{n}fan")
        for fan in fans:
            for post in posts:
                await s.interactions.favourite(fan, post)
            # Both flush while both still write: the lease lets one batch go at a time.
            await policy(s).flush_once()
        await policy(s).flush_all()

    family.run_numbered(process, processes=2)

    async def check(b: Backends) -> list[tuple[int, int, int]]:
        return [await stored(services(b), p) for p in posts]

    assert family.run(check) == [(6, 0, 0)] * 4


def test_with_redis_out_of_reach_the_counter_goes_to_the_database_at_once(
        family: Family, redis_fresh: RedisServer) -> None:
    ports = spare_ports()
    dead = next(ports)
    ports.close()  # nothing listens there

    async def work(b: Backends) -> None:
        s = write_back(b, redis_fresh, redis_port=dead)  # the cache is up, the counter store is not
        _, post = await first_post(s, "hello")
        fan = Services.identity(await s.person("fan"))
        assert (await s.interactions.favourite(fan, post.id)).favourites_count == 1
        assert await stored(s, post.id) == (1, 0, 0)

    family.run(work)


def test_the_embedded_default_counts_in_the_transaction(family: Family) -> None:
    async def work(b: Backends) -> None:
        assert not b.settings.counter_policy  # none chosen: the shape's own default
        use_counter_policy(b, None)  # as the embedded shape opens (runtime/backends.py)
        s = services(b)
        assert s.statuses.counters.in_transaction
        _, post = await first_post(s, "hello")
        await s.interactions.favourite(Services.identity(await s.person("fan")), post.id)
        assert await stored(s, post.id) == (1, 0, 0)

    family.run(work)


def test_gather_is_safe_for_concurrent_increments(family: Family, redis_fresh: RedisServer) -> None:
    async def work(b: Backends) -> None:
        s = write_back(b, redis_fresh)
        _, post = await first_post(s, "at once")
        fans = await crowd(s, 8)
        await asyncio.gather(*(s.interactions.favourite(f, post.id) for f in fans))
        assert await seen(s, post.id) == (8, 0, 0)
        await policy(s).flush_all()
        assert await stored(s, post.id) == (8, 0, 0)

    family.run(work)
