"""Puts the state several processes share on Redis (``Settings.redis_url``, issue #9).

Home timelines, the celebrity set, the worker-id lease behind the id generator and
the rate-limit counters move from the embedded adapters to one Redis every process
of the deployment uses; the records stay where the database adapters keep them.
The cluster shape (runtime/backends.py ``open_cluster``) opens the same set, with the
entity cache besides, from the Redis its cluster.toml names.
"""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import BlockingConnectionPool, Redis

from roost.adapters.redis import (
    RedisCelebritySet,
    RedisRateLimitStore,
    RedisTimelineStore,
    RedisWorkerIdLeases,
)
from roost.adapters.redis.client import MAX_CONNECTIONS, POOL_WAIT_S
from roost.adapters.redis.shared_state import RedisWorkerIdLease
from roost.domain.ids import IdGenerator
from roost.runtime.counters import use_counter_policy
from roost.services.context import Backends
from roost.settings import Settings


@dataclass
class SharedRedis:
    """One process's client of the deployment's Redis and the adapters on it."""

    client: Redis
    lease: RedisWorkerIdLease
    timelines: RedisTimelineStore
    celebrities: RedisCelebritySet
    rate_limits: RedisRateLimitStore


async def open_shared_redis(settings: Settings, url: str, password: str | None = None) -> SharedRedis:
    """Connect (failing now when Redis does not answer) and lease this process's worker id."""
    pool = BlockingConnectionPool.from_url(url, password=password, max_connections=MAX_CONNECTIONS,
                                           timeout=POOL_WAIT_S, socket_timeout=5.0,
                                           socket_connect_timeout=5.0)
    client = Redis.from_pool(pool)
    try:
        await client.ping()
        lease = await RedisWorkerIdLeases(client, settings.worker_lease_ttl_seconds).acquire()
    except BaseException:
        await client.aclose()
        raise
    return SharedRedis(client=client, lease=lease,
                       timelines=RedisTimelineStore(client, settings.timeline_max_items),
                       celebrities=RedisCelebritySet(client), rate_limits=RedisRateLimitStore(client))


async def use_redis(backends: Backends) -> None:
    shared = await open_shared_redis(backends.settings, backends.settings.redis_url)
    if backends.worker_lease is not None:
        await backends.worker_lease.release()  # the Redis lease covers every host, not one folder
    await backends.timelines.close()
    backends.timelines = shared.timelines
    backends.celebrities = shared.celebrities
    backends.rate_limits = shared.rate_limits
    backends.ids = IdGenerator(lease=shared.lease)
    backends.worker_lease = shared.lease
    backends.on_close.append(shared.client.aclose)
    use_counter_policy(backends, shared.client)
