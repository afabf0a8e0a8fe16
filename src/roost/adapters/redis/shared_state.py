"""The celebrity set, worker-id leases and rate-limit counters on a shared Redis."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from roost.domain.ids import MAX_WORKERS
from roost.ports.shared_state import NoWorkerIdFree
from roost.tasks import cancel_and_wait

logger = logging.getLogger("roost.shared_state")


class RedisCelebritySet:
    def __init__(self, client: Redis, key: str = "roost:celebrities") -> None:
        self._redis = client
        self._key = key

    async def add(self, account_id: int) -> None:
        await self._redis.sadd(self._key, account_id)

    async def remove(self, account_id: int) -> bool:
        return bool(await self._redis.srem(self._key, account_id))

    async def contains(self, account_id: int) -> bool:
        return bool(await self._redis.sismember(self._key, str(account_id)))

    async def members(self) -> frozenset[int]:
        return frozenset(int(m) for m in await self._redis.smembers(self._key))

    async def replace(self, account_ids: set[int]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(self._key)
            if account_ids:
                pipe.sadd(self._key, *account_ids)
            await pipe.execute()


# INCR and EXPIRE as one step: a process dying between them would leave a counter
# that never expires. The window number is part of the key, so the expiry only
# collects old windows; it never decides what a window counts.
_INCREMENT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisRateLimitStore:
    def __init__(self, client: Redis, prefix: str = "roost:rl:") -> None:
        self._prefix = prefix
        self._increment = client.register_script(_INCREMENT)

    async def increment(self, key: str, window: int, window_seconds: int) -> int:
        count = await self._increment(keys=[f"{self._prefix}{window}:{key}"], args=[window_seconds + 1])
        return int(count)


# Renew or release only while the key still holds our token: after a lapse another
# process may hold the id, and must not lose it to us.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# The lease counts as held locally for this share of its TTL after each renewal was
# sent: the rest covers clock-rate drift between this host and Redis.
_SAFE_SHARE = 0.8


class RedisWorkerIdLease:
    """Held while ``SET NX PX`` keys carry our token; a heartbeat renews it every third of
    the TTL. ``held()`` turns false on its own if renewals stop reaching Redis, before
    the key can expire there, so the generator stops minting before anyone else can
    take the id."""

    def __init__(self, leases: RedisWorkerIdLeases, worker_id: int, token: str, sent_at: float) -> None:
        self._leases = leases
        self._worker_id = worker_id
        self._token = token
        self._valid_until = sent_at + leases.ttl_seconds * _SAFE_SHARE
        self._heartbeat: asyncio.Task[None] | None = None

    @property
    def worker_id(self) -> int:
        return self._worker_id

    @property
    def key(self) -> str:
        return self._leases.key(self._worker_id)

    def held(self) -> bool:
        return self._leases.clock() < self._valid_until

    async def renew(self) -> bool:
        """Extend the lease; False once it is lost (lapsed and perhaps taken by another)."""
        sent_at = self._leases.clock()
        ttl_ms = int(self._leases.ttl_seconds * 1000)
        renewed = await self._leases.renew_script(keys=[self.key], args=[self._token, ttl_ms])
        if renewed:
            self._valid_until = sent_at + self._leases.ttl_seconds * _SAFE_SHARE
            return True
        self._valid_until = float("-inf")
        return False

    def start_heartbeat(self) -> None:
        self._heartbeat = asyncio.get_running_loop().create_task(self._beat())

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._leases.ttl_seconds / 3)
            try:
                if not await self.renew():
                    logger.error("worker id %d: lease lost; no more ids from this process", self._worker_id)
                    return
            except RedisError as exc:  # try again next beat; held() lapses meanwhile if it lasts
                logger.warning("worker id %d: lease renewal failed: %s", self._worker_id, exc)

    async def release(self) -> None:
        await cancel_and_wait(self._heartbeat)
        self._heartbeat = None
        self._valid_until = float("-inf")
        await self._leases.release_script(keys=[self.key], args=[self._token])


class RedisWorkerIdLeases:
    def __init__(self, client: Redis, ttl_seconds: float = 15.0, prefix: str = "roost:worker:",
                 workers: int = MAX_WORKERS, clock: Callable[[], float] = time.monotonic) -> None:
        self._redis = client
        self.ttl_seconds = ttl_seconds
        self._prefix = prefix
        self._workers = workers
        self.clock = clock
        self.renew_script = client.register_script(_RENEW)
        self.release_script = client.register_script(_RELEASE)

    def key(self, worker_id: int) -> str:
        return f"{self._prefix}{worker_id}"

    async def acquire(self, heartbeat: bool = True) -> RedisWorkerIdLease:
        token = f"{os.uname().nodename}:{os.getpid()}:{os.urandom(8).hex()}"
        ttl_ms = int(self.ttl_seconds * 1000)
        for worker_id in range(self._workers):
            sent_at = self.clock()
            if await self._redis.set(self.key(worker_id), token, nx=True, px=ttl_ms):
                lease = RedisWorkerIdLease(self, worker_id, token, sent_at)
                if heartbeat:
                    lease.start_heartbeat()
                return lease
        raise NoWorkerIdFree(f"all {self._workers} worker ids are leased in Redis")
