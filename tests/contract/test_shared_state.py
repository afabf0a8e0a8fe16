"""Contracts of the shared-state ports (ports/shared_state.py) over the embedded and Redis
adapters: the celebrity set, fixed-window rate-limit counters and worker-id leases.

What several processes share is tested with several clients (Redis) or several open
files (embedded leases), and with real separate processes where the embedded adapter
claims to hold across them.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from roost.adapters.embedded.shared_state import (
    FileWorkerIdLeases,
    MemoryCelebritySet,
    MemoryRateLimitStore,
)
from roost.adapters.redis.shared_state import (
    RedisCelebritySet,
    RedisRateLimitStore,
    RedisWorkerIdLeases,
)
from roost.cluster.scratch_redis import RedisServer
from roost.domain.ids import EPOCH_MS, MAX_WORKERS, IdGenerator, LeaseLost, worker_of
from roost.ports.shared_state import CelebritySet, NoWorkerIdFree, RateLimitStore, WorkerIdLeases

T0 = EPOCH_MS + 86_400_000 * 400


def run(work: Coroutine[Any, Any, None]) -> None:
    asyncio.run(work)


# Each opener yields a port implementation; calling it again while the first is open is
# another process on the same shared state (embedded celebrity/rate-limit adapters are
# per process by design, so for them a second call is the same object).
Opener = Callable[[], AbstractAsyncContextManager[Any]]


def _redis_opener(server: RedisServer, make: Callable[[Any], Any]) -> Opener:
    @asynccontextmanager
    async def opener() -> AsyncIterator[Any]:
        client = server.client()
        try:
            yield make(client)
        finally:
            await client.aclose()

    return opener


def _shared_opener(make: Callable[[], Any]) -> Opener:
    instance = make()

    @asynccontextmanager
    async def opener() -> AsyncIterator[Any]:
        yield instance

    return opener


@pytest.fixture(params=["embedded", "redis"])
def open_celebrities(request: pytest.FixtureRequest) -> Opener:
    if request.param == "embedded":
        return _shared_opener(MemoryCelebritySet)
    return _redis_opener(request.getfixturevalue("redis_fresh"), RedisCelebritySet)


@pytest.fixture(params=["embedded", "redis"])
def open_rate_limits(request: pytest.FixtureRequest) -> Opener:
    if request.param == "embedded":
        return _shared_opener(MemoryRateLimitStore)
    return _redis_opener(request.getfixturevalue("redis_fresh"), RedisRateLimitStore)


@pytest.fixture(params=["embedded", "redis"])
def open_leases(request: pytest.FixtureRequest, tmp_path: Path) -> Opener:
    if request.param == "embedded":
        @asynccontextmanager
        async def files() -> AsyncIterator[WorkerIdLeases]:
            yield FileWorkerIdLeases(tmp_path / "workers")

        return files
    return _redis_opener(request.getfixturevalue("redis_fresh"), RedisWorkerIdLeases)


# -- the celebrity set ---------------------------------------------------------------


def test_celebrity_set_membership(open_celebrities: Opener) -> None:
    async def body() -> None:
        async with open_celebrities() as one, open_celebrities() as other:
            a: CelebritySet = one
            b: CelebritySet = other
            assert await a.members() == frozenset()
            await a.add(2**62 + 5)  # snowflake-sized ids survive the round trip
            await a.add(7)
            await a.add(7)
            assert await b.contains(7) and await b.contains(2**62 + 5)
            assert not await b.contains(8)
            assert await b.members() == frozenset({7, 2**62 + 5})
            assert await b.remove(7) is True
            assert await a.remove(7) is False  # only one remover hears "it was a member"
            await b.replace({1, 2, 3})
            assert await a.members() == frozenset({1, 2, 3})
            await a.replace(set())
            assert await b.members() == frozenset()

    run(body())


def test_concurrent_removals_report_one_demotion(open_celebrities: Opener) -> None:
    # Each process that sees the account fall below the threshold removes it; exactly one
    # publishes the demotion (accounts service: counters_changed).
    async def body() -> None:
        async with open_celebrities() as a, open_celebrities() as b:
            await a.add(42)
            results = await asyncio.gather(*(s.remove(42) for _ in range(10) for s in (a, b)))
            assert results.count(True) == 1

    run(body())


# -- rate-limit counters ---------------------------------------------------------------


def test_fixed_window_counts_are_atomic_across_processes(open_rate_limits: Opener) -> None:
    async def body() -> None:
        async with open_rate_limits() as a, open_rate_limits() as b:
            stores: list[RateLimitStore] = [a, b]
            counts = await asyncio.gather(*(s.increment("ip:1", 100, 300) for _ in range(50) for s in stores))
            assert sorted(counts) == list(range(1, 101))  # no hit lost or counted twice
            assert await a.increment("ip:2", 100, 300) == 1  # keys are independent
            assert await b.increment("ip:1", 101, 300) == 1  # a new window starts at one

    run(body())


def test_redis_window_counters_expire(redis_fresh: RedisServer) -> None:
    async def body() -> None:
        client = redis_fresh.client()
        try:
            await RedisRateLimitStore(client).increment("ip:9", 5, 60)
            (key,) = await client.keys("roost:rl:*")
            assert 0 < await client.ttl(key) <= 61  # no counter is left without an expiry
        finally:
            await client.aclose()

    run(body())


def test_limiters_on_one_store_keep_their_counts_apart(redis_fresh: RedisServer) -> None:
    from roost.gateway.ratelimit import FixedWindowLimiter

    async def body() -> None:
        client = redis_fresh.client()
        try:
            store = RedisRateLimitStore(client)
            reads = FixedWindowLimiter(50, 300, store, name="unauthenticated")
            logins = FixedWindowLimiter(3, 300, store, name="logins")
            for _ in range(3):
                assert (await logins.hit("ip:1", 1_000_000.0)).allowed
            assert not (await logins.hit("ip:1", 1_000_000.0)).allowed
            assert (await reads.hit("ip:1", 1_000_000.0)).remaining == 49  # same key, own budget
        finally:
            await client.aclose()

    run(body())


def test_the_limiter_shares_one_budget_across_processes(redis_fresh: RedisServer) -> None:
    from roost.gateway.ratelimit import FixedWindowLimiter

    async def body() -> None:
        clients = [redis_fresh.client(), redis_fresh.client()]
        try:
            limiters = [FixedWindowLimiter(5, 300, RedisRateLimitStore(c)) for c in clients]
            decisions = [await limiters[n % 2].hit("token:x", 1_000_000.0) for n in range(8)]
            # Each process alone would have allowed 5 of its 4 hits: together, 5 of 8.
            assert [d.allowed for d in decisions] == [True] * 5 + [False] * 3
            assert [d.remaining for d in decisions] == [4, 3, 2, 1, 0, 0, 0, 0]
        finally:
            for c in clients:
                await c.aclose()

    run(body())


# -- worker-id leases --------------------------------------------------------------------


def test_two_holders_never_get_the_same_worker_id(open_leases: Opener) -> None:
    async def body() -> None:
        async with open_leases() as one, open_leases() as other:
            held = await asyncio.gather(*(store.acquire() for _ in range(MAX_WORKERS // 2)
                                          for store in (one, other)))
            assert sorted(lease.worker_id for lease in held) == list(range(MAX_WORKERS))
            assert all(lease.held() for lease in held)
            with pytest.raises(NoWorkerIdFree):
                await other.acquire()
            freed = held[3]
            await freed.release()
            assert not freed.held()
            again = await one.acquire()  # a released id is free again
            assert again.worker_id == freed.worker_id
            for lease in [*held, again]:
                await lease.release()

    run(body())


def test_generators_on_different_leases_never_collide(open_leases: Opener) -> None:
    async def body() -> None:
        async with open_leases() as one, open_leases() as other:
            a, b = await one.acquire(), await other.acquire()
            clock = [T0]
            gens = [IdGenerator(lambda: clock[0], a), IdGenerator(lambda: clock[0], b)]
            made: list[int] = []
            for n in range(3000):  # same clock, same shard, well past 64 per ms
                made += (g.next_id(9) for g in gens)
                if n % 500 == 0:
                    clock[0] += 1
            assert len(set(made)) == len(made)
            assert {worker_of(i) for i in made} == {a.worker_id, b.worker_id}
            await a.release()
            with pytest.raises(LeaseLost):
                gens[0].next_id(9)
            await b.release()

    run(body())


def test_a_redis_lease_lapses_without_renewal_and_is_lost_once_taken(redis_fresh: RedisServer) -> None:
    async def body() -> None:
        clients = [redis_fresh.client(), redis_fresh.client()]
        now = [100.0]
        try:
            mine = RedisWorkerIdLeases(clients[0], ttl_seconds=10, clock=lambda: now[0])
            theirs = RedisWorkerIdLeases(clients[1], ttl_seconds=10)
            lease = await mine.acquire(heartbeat=False)
            assert 0 < await clients[0].pttl(lease.key) <= 10_000
            now[0] += 7.9
            assert lease.held()
            assert await lease.renew()
            now[0] += 7.9
            assert lease.held()  # renewed: counted from the renewal
            now[0] += 0.2
            assert not lease.held()  # past 80% of the TTL with no renewal: stop minting
            # The key expires in Redis (simulated) and another process takes the id:
            await clients[1].delete(lease.key)
            taken = await theirs.acquire(heartbeat=False)
            assert taken.worker_id == lease.worker_id
            assert not await lease.renew()  # never steals it back
            await lease.release()  # nor releases the other's lease
            assert await clients[1].exists(taken.key)
            await taken.release()
            assert not await clients[1].exists(taken.key)
        finally:
            for c in clients:
                await c.aclose()

    run(body())


def test_the_heartbeat_keeps_a_short_lease(redis_fresh: RedisServer) -> None:
    async def body() -> None:
        client = redis_fresh.client()
        try:
            leases = RedisWorkerIdLeases(client, ttl_seconds=1.0)
            lease = await leases.acquire()
            await asyncio.sleep(3.5)  # > 3 TTLs: only renewals kept it
            assert lease.held() and await client.get(lease.key) is not None
            assert (await leases.acquire(heartbeat=False)).worker_id != lease.worker_id
            await lease.release()
        finally:
            await client.aclose()

    run(body())


# Mints ids on one shard as fast as it can, like a busy process, through the real
# embedded opener (its data-directory lease), and prints them.
_MINT = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from roost.adapters.embedded.shared_state import FileWorkerIdLeases
    from roost.domain.ids import IdGenerator
    lease = FileWorkerIdLeases(Path(sys.argv[1])).acquire_now()
    gen = IdGenerator(lease=lease)
    go = float(sys.argv[2])
    while time.time() < go:  # both start minting in the same millisecond
        pass
    ids = [gen.next_id(0) for _ in range(20000)]
    print(lease.worker_id)
    print("\\n".join(map(str, ids)))
    sys.stdout.flush()
    if len(sys.argv) > 3:
        sys.stdin.read()  # hold the lease until told to go
""")


def _spawn(folder: Path, go: float, *extra: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen([sys.executable, "-c", _MINT, str(folder), str(go), *extra], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def test_two_processes_on_one_data_directory_never_mint_the_same_id(tmp_path: Path) -> None:
    import time

    go = time.time() + 1.5
    procs = [_spawn(tmp_path / "workers", go) for _ in range(2)]
    outputs = [p.communicate(timeout=60)[0].split() for p in procs]
    assert all(p.returncode == 0 for p in procs)
    workers = {int(out[0]) for out in outputs}
    ids = [int(i) for out in outputs for i in out[1:]]
    assert workers == {0, 1}
    assert len(ids) == 40_000 and len(set(ids)) == 40_000


def test_a_process_cannot_take_a_lease_another_process_holds(tmp_path: Path) -> None:
    import time

    holder = _spawn(tmp_path / "workers", time.time(), "hold")
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "0"  # it holds worker id 0
        mine = FileWorkerIdLeases(tmp_path / "workers").acquire_now()
        assert mine.worker_id == 1
        mine.release_now()
    finally:
        holder.kill()  # dies holding it: the kernel drops its lock
        holder.communicate(timeout=30)
    after = FileWorkerIdLeases(tmp_path / "workers").acquire_now()
    assert after.worker_id == 0
    after.release_now()
