"""Redis stopped and started again under each Redis adapter (issue #9): a real
redis-server with its append-only file, as the cluster runs it, stopped by PID
(SIGTERM) and started again on the same port and folder.

What each adapter promises while Redis is down and after it is back: worker ids are
minted only under a held lease and the lease is taken again; timelines refuse with
503 + Retry-After (the service then reads the database); cache reads are misses and
invalidations are sent once Redis answers, so nothing it kept on disk is served
stale; rate limits fail open; the celebrity set is served from the last copy.
Waits are bounded (liveness), nothing asserts a duration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import redis as redis_py

from api.harness import Server, assert_error, running_server
from roost.adapters.redis import RedisCelebritySet, RedisRateLimitStore, RedisTimelineStore
from roost.adapters.redis.cache import RedisCache
from roost.adapters.redis.cache import connect as connect_cache
from roost.adapters.redis.outage import UNREACHABLE
from roost.adapters.redis.shared_state import RedisWorkerIdLeases
from roost.cluster import binaries
from roost.cluster.scratch_redis import Restartable, restartable_redis
from roost.domain.entities import Status
from roost.domain.ids import IdGenerator, LeaseLost, worker_of
from roost.domain.pagination import Page
from roost.errors import Unavailable
from roost.services.cache_codecs import CODECS

WAIT_S = 30.0


@pytest.fixture(scope="module")
def restartable() -> Iterator[Restartable]:
    try:
        binaries.redis_server()
    except Exception as exc:
        pytest.skip(f"redis-server not available: {exc}")
    with restartable_redis() as server:
        yield server


@pytest.fixture
def fresh(restartable: Restartable) -> Restartable:
    restartable.server.flush()
    return restartable


@contextmanager
def redis_down(restartable: Restartable) -> Iterator[None]:
    restartable.stop()
    try:
        yield
    finally:
        restartable.start()


async def eventually(check: Callable[[], Awaitable[bool] | bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        result = check()
        if await result if isinstance(result, Awaitable) else result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def run(work: Awaitable[Any]) -> Any:
    return asyncio.run(work)  # type: ignore[arg-type]


def _retry_after(error: Unavailable) -> str | None:
    headers = error.extra.get("headers") or {}
    return headers.get("Retry-After")


# -- worker-id leases ---------------------------------------------------------------------


def test_minting_stops_while_the_lease_is_lost_and_resumes_on_the_old_id(fresh: Restartable) -> None:
    async def body() -> None:
        client = fresh.server.client()
        try:
            lease = await RedisWorkerIdLeases(client, ttl_seconds=1.0).acquire()
            ids = IdGenerator(lease=lease)
            before = ids.next_id(3)
            with redis_down(fresh):
                await eventually(lambda: not lease.held(), "the lease to lapse with Redis down")
                with pytest.raises(LeaseLost) as refused:
                    ids.next_id(3)
                assert refused.value.status_code == 503 and _retry_after(refused.value)
                await asyncio.sleep(1.1)  # the key's TTL runs out (Redis keeps absolute expiries)
            await eventually(lease.held, "the lease to be taken again")
            after = ids.next_id(3)
            assert after > before and worker_of(after) == lease.worker_id == worker_of(before)
            assert await client.get(lease.key) is not None
            await lease.release()
        finally:
            await client.aclose()

    run(body())


def test_a_lost_lease_whose_id_was_taken_comes_back_on_another_id(fresh: Restartable) -> None:
    async def body() -> None:
        client = fresh.server.client()
        try:
            lease = await RedisWorkerIdLeases(client, ttl_seconds=1.0).acquire(heartbeat=False)
            old = lease.worker_id
            with redis_down(fresh):
                await asyncio.sleep(1.1)  # lapses, locally and in Redis
            assert not lease.held()
            # Another process takes the old id before this one's heartbeat runs.
            with redis_py.Redis(host=fresh.server.host, port=fresh.server.port,
                                password=fresh.server.password) as other:
                other.set(lease.key, "theirs", px=60_000)
                lease.start_heartbeat()
                await eventually(lease.held, "the lease to be taken again")
                assert lease.worker_id != old
                assert other.get(lease._leases.key(old)) == b"theirs"  # never stolen back
                assert IdGenerator(lease=lease).next_id(1) > 0
            await lease.release()
        finally:
            await client.aclose()

    run(body())


# -- home timelines ---------------------------------------------------------------------


def test_the_timeline_store_refuses_with_retry_after_while_down(fresh: Restartable) -> None:
    async def body() -> None:
        client = fresh.server.client()
        try:
            store = RedisTimelineStore(client)
            await store.replace("home:1", [5, 6])
            before = UNREACHABLE["home timeline store"]
            with redis_down(fresh):
                for call in (store.exists("home:1"), store.page("home:1", Page(limit=20)),
                             store.push_many([("home:1", 7)])):
                    with pytest.raises(Unavailable) as refused:
                        await call
                    assert refused.value.status_code == 503 and _retry_after(refused.value)
            assert UNREACHABLE["home timeline store"] >= before + 3
            await eventually(lambda: store.exists("home:1"), "the store to answer again")
            await store.push_many([("home:1", 7)])  # the fanout consumer's retry
            assert await store.page("home:1", Page(limit=20)) == [7, 6, 5]
        finally:
            await client.aclose()

    run(body())


# -- entity cache -----------------------------------------------------------------------


def test_an_invalidation_missed_while_down_is_sent_before_the_next_read(fresh: Restartable) -> None:
    async def body() -> None:
        server = fresh.server
        cache = RedisCache(connect_cache(f"redis://{server.host}:{server.port}/0", server.password), CODECS)
        try:
            status_id = 123456789
            await cache.set_records("s", {status_id: Status(status_id, 7, "old", "<p>old</p>")})
            with redis_down(fresh):
                assert await cache.get_records("s", [status_id]) == {}  # a miss: the database answers
                await cache.delete_records("s", status_id)  # the status changed meanwhile
                errors = cache.errors
                assert errors > 0
            # Redis kept the old entry in its append-only file; it is never served.
            assert await cache.get_records("s", [status_id]) == {}
            raw = redis_py.Redis(host=server.host, port=server.port, password=server.password)
            assert raw.exists(f"roost:cache:r:s:{status_id}") == 0
            raw.close()
            fresh_copy = Status(status_id, 7, "new", "<p>new</p>")
            await cache.set_records("s", {status_id: fresh_copy})
            assert (await cache.get_records("s", [status_id]))[status_id].text == "new"
        finally:
            await cache.close()

    run(body())


# -- rate limits and the celebrity set ----------------------------------------------------------


def test_rate_limits_fail_open_while_down(fresh: Restartable) -> None:
    async def body() -> None:
        client = fresh.server.client()
        try:
            store = RedisRateLimitStore(client)
            assert [await store.increment("k", 1, 300) for _ in range(3)] == [1, 2, 3]
            before = UNREACHABLE["rate limiter"]
            with redis_down(fresh):
                assert await store.increment("k", 1, 300) == 1  # not refused for want of a counter
            assert UNREACHABLE["rate limiter"] == before + 1
            await eventually(lambda: _answers(store), "the limiter to count again")
        finally:
            await client.aclose()

    run(body())


async def _answers(store: RedisRateLimitStore) -> bool:
    count: int = await store.increment("k", 1, 300)
    return count > 3


def test_the_celebrity_set_is_served_from_the_last_copy_while_down(fresh: Restartable) -> None:
    async def body() -> None:
        client = fresh.server.client()
        try:
            celebrities = RedisCelebritySet(client)
            await celebrities.replace({1, 2})
            with redis_down(fresh):
                assert await celebrities.members() == frozenset({1, 2})
                assert await celebrities.contains(1) and not await celebrities.contains(3)
                with pytest.raises(Unavailable) as refused:
                    await celebrities.add(3)
                assert _retry_after(refused.value)
            await eventually(lambda: celebrities.contains(2), "the set to answer again")
            await celebrities.add(3)
            assert await celebrities.members() == frozenset({1, 2, 3})
        finally:
            await client.aclose()

    run(body())


# -- through the API: roost with its shared state on the restarted Redis -------------------


def test_roost_reads_from_the_database_while_redis_is_down_and_writes_again_after(
        fresh: Restartable, tmp_path: Path) -> None:
    server = fresh.server
    url = f"redis://:{server.password}@{server.host}:{server.port}/0"
    with running_server(tmp_path, redis_url=url, worker_lease_ttl_seconds=1.0) as srv:
        alice, bob = srv.quick_user("alice"), srv.quick_user("bob")
        srv.follow(bob, alice)
        before = srv.post(alice, "before the outage")["id"]
        srv.drain()
        assert _home(srv, bob) == [before]
        with redis_down(fresh):
            # The home page from the database (the store is down), not a 500.
            assert _home(srv, bob) == [before]
            assert srv.container.timelines is not None and srv.container.timelines.store_fallbacks > 0
            # Once the lease lapses, writes are refused as unavailable, with Retry-After.
            deadline = time.monotonic() + WAIT_S
            while (refused := srv.client.post("/api/v1/statuses", headers=alice.headers,
                                              json={"status": "while down"})).status_code == 200:
                assert time.monotonic() < deadline, "writes went on without a lease"
                time.sleep(0.1)
            assert_error(refused, 503)
            assert refused.headers.get("Retry-After")
        deadline = time.monotonic() + WAIT_S
        while (answer := srv.client.post("/api/v1/statuses", headers=alice.headers,
                                         json={"status": "after the outage"})).status_code != 200:
            assert answer.status_code == 503 and answer.headers.get("Retry-After"), answer.text
            assert time.monotonic() < deadline, "writes did not resume"
            time.sleep(0.1)
        after = answer.json()["id"]
        srv.drain(timeout=WAIT_S)  # the fanout consumer retried what it could not deliver
        assert after in _home(srv, bob) and before in _home(srv, bob)
        metrics = srv.client.get("/metrics").text
        assert 'roost_redis_unreachable_total{component="home timeline store"}' in metrics


def _home(srv: Server, user: Any) -> list[str]:
    return [s["id"] for s in srv.get("/api/v1/timelines/home", user, limit=40)]
