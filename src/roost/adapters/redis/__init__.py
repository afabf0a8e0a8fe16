"""Adapters on a shared Redis (redis-py's asyncio client): the cluster shape's shared state."""

from roost.adapters.redis.shared_state import (
    RedisCelebritySet,
    RedisRateLimitStore,
    RedisWorkerIdLeases,
)
from roost.adapters.redis.timelines import RedisTimelineStore

__all__ = ["RedisCelebritySet", "RedisRateLimitStore", "RedisTimelineStore", "RedisWorkerIdLeases"]
