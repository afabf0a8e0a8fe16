"""The celebrity set, worker-id leases and rate-limit counters on a shared Redis."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from roost.adapters.redis.outage import DOWN, Outage
from roost.domain.ids import MAX_WORKERS
from roost.ports.shared_state import NoWorkerIdFree
from roost.tasks import cancel_and_wait

logger = logging.getLogger("roost.shared_state")


class RedisCelebritySet:
    """Reads are served from the last copy this process read or wrote while Redis does
    not answer (the set changes rarely: only when an account crosses the threshold);
    changes need Redis (503 with Retry-After) so that no process keeps a wrong set."""

    def __init__(self, client: Redis, key: str = "roost:celebrities") -> None:
        self._redis = client
        self._key = key
        self._outage = Outage("celebrity set")
        self._known: frozenset[int] = frozenset()

    async def add(self, account_id: int) -> None:
        await self._outage.required("add", self._redis.sadd(self._key, account_id))
        self._known |= {account_id}

    async def remove(self, account_id: int) -> bool:
        removed = bool(await self._outage.required("remove", self._redis.srem(self._key, account_id)))
        self._known -= {account_id}
        return removed

    async def contains(self, account_id: int) -> bool:
        try:
            found = bool(await self._redis.sismember(self._key, str(account_id)))
        except DOWN as error:
            self._outage.failed("contains", error, "serving the last known set")
            return account_id in self._known
        self._outage.answered()
        return found

    async def members(self) -> frozenset[int]:
        try:
            self._known = frozenset(int(m) for m in await self._redis.smembers(self._key))
        except DOWN as error:
            self._outage.failed("members", error, "serving the last known set")
        else:
            self._outage.answered()
        return self._known

    async def replace(self, account_ids: set[int]) -> None:
        async def write() -> None:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.delete(self._key)
                if account_ids:
                    pipe.sadd(self._key, *account_ids)
                await pipe.execute()

        await self._outage.required("replace", write())
        self._known = frozenset(account_ids)


# INCR and EXPIRE as one step: a process dying between them would leave a counter
# that never expires. The window number is part of the key, so the expiry only
# collects old windows; it never decides what a window counts.
_INCREMENT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisRateLimitStore:
    """Fails open: while Redis does not answer every hit counts as the window's first (a
    request is not refused for want of a counter), logged once per outage and counted
    in ``roost_redis_unreachable{component="rate limiter"}``."""

    def __init__(self, client: Redis, prefix: str = "roost:rl:") -> None:
        self._prefix = prefix
        self._increment = client.register_script(_INCREMENT)
        self._outage = Outage("rate limiter")

    async def increment(self, key: str, window: int, window_seconds: int) -> int:
        try:
            count = await self._increment(keys=[f"{self._prefix}{window}:{key}"], args=[window_seconds + 1])
        except DOWN as error:
            self._outage.failed("increment", error, "not limiting")
            return 1
        self._outage.answered()
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
# Between attempts while the lease is lost (Redis away): a short wait, so minting resumes
# within about this long after Redis answers again.
_RETRY_S = 0.5
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
        """Renew every third of the TTL. A lease found lost (lapsed while Redis was away, or
        taken) is taken again, its old id if still free, else another: minting resumes
        once Redis answers, never while the id is not certainly ours. While Redis does not
        answer, try again every ``_RETRY_S`` so minting resumes soon after it is back."""
        while True:
            await asyncio.sleep(self._leases.ttl_seconds / 3 if self.held() else
                                min(_RETRY_S, self._leases.ttl_seconds / 3))
            try:
                if self.held() or self._valid_until > float("-inf"):
                    if await self.renew():
                        continue
                    logger.error("worker id %d: lease lost; taking a worker id again", self._worker_id)
                await self._reacquire()
            except RedisError as exc:  # try again soon; held() lapses meanwhile if it lasts
                logger.warning("worker id %d: lease renewal failed: %s", self._worker_id, exc)
            except NoWorkerIdFree as exc:
                logger.error("worker id %d: lease lost and %s; trying again", self._worker_id, exc)

    async def _reacquire(self) -> None:
        worker_id, sent_at = await self._leases.take(self._token, prefer=self._worker_id)
        if worker_id != self._worker_id:
            logger.warning("worker id %d was taken meanwhile; minting as worker id %d", self._worker_id, worker_id)
        self._worker_id = worker_id
        self._valid_until = sent_at + self._leases.ttl_seconds * _SAFE_SHARE
        logger.warning("worker id %d: lease held again; minting resumes", worker_id)

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
        worker_id, sent_at = await self.take(token)
        lease = RedisWorkerIdLease(self, worker_id, token, sent_at)
        if heartbeat:
            lease.start_heartbeat()
        return lease

    async def take(self, token: str, prefer: int | None = None) -> tuple[int, float]:
        """SET NX the first free worker id (``prefer`` first) to ``token``: the id and when
        the command was sent (the lease's validity counts from then)."""
        ttl_ms = int(self.ttl_seconds * 1000)
        order = list(range(self._workers))
        if prefer is not None:
            order.remove(prefer)
            order.insert(0, prefer)
        for worker_id in order:
            sent_at = self.clock()
            if await self._redis.set(self.key(worker_id), token, nx=True, px=ttl_ms):
                return worker_id, sent_at
        raise NoWorkerIdFree(f"all {self._workers} worker ids are leased in Redis")
