"""Puts the state several processes share on Redis (``Settings.redis_url``, issue #9).

Home timelines, the celebrity set, the worker-id lease behind the id generator and
the rate-limit counters move from the embedded adapters to one Redis every process
of the deployment uses; the records stay where the database adapters keep them.
"""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

from roost.adapters.redis import (
    RedisCelebritySet,
    RedisRateLimitStore,
    RedisTimelineStore,
    RedisWorkerIdLeases,
)
from roost.adapters.redis.client import MAX_CONNECTIONS, POOL_WAIT_S
from roost.domain.ids import IdGenerator
from roost.runtime.counters import use_counter_policy
from roost.services.context import Backends


async def use_redis(backends: Backends) -> None:
    settings = backends.settings
    pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=MAX_CONNECTIONS,
                                           timeout=POOL_WAIT_S, socket_timeout=5.0,
                                           socket_connect_timeout=5.0)
    client = Redis.from_pool(pool)
    try:
        await client.ping()
        lease = await RedisWorkerIdLeases(client, settings.worker_lease_ttl_seconds).acquire()
    except BaseException:
        await client.aclose()
        raise
    if backends.worker_lease is not None:
        await backends.worker_lease.release()  # the Redis lease covers every host, not one folder
    await backends.timelines.close()
    backends.timelines = RedisTimelineStore(client, settings.timeline_max_items)
    backends.celebrities = RedisCelebritySet(client)
    backends.rate_limits = RedisRateLimitStore(client)
    backends.ids = IdGenerator(lease=lease)
    backends.worker_lease = lease
    backends.on_close.append(client.aclose)
    use_counter_policy(backends, client)
