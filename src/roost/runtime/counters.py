"""Chooses the status-counter policy (``Settings.counter_policy``; services/status_counters.py)."""

from __future__ import annotations

from redis.asyncio import Redis

from roost.adapters.redis.counter_deltas import RedisPendingDeltas
from roost.services.context import Backends
from roost.services.status_counters import (
    POLICIES,
    TRANSACTIONAL,
    WRITE_BACK,
    TransactionalCounters,
    WriteBackCounters,
)


def use_counter_policy(backends: Backends, redis: Redis | None, default: str = TRANSACTIONAL) -> None:
    """Set ``backends.counters`` as the settings say (``default``, the shape's own, when they
    name none: transactional embedded, write_back on the cluster shape). Call it once
    ``backends.cache`` is the cache the process keeps (the flusher drops flushed statuses
    from it). ``redis``: the process's client of the shared Redis, which write_back
    requires. The flusher starts with the statuses module (``counters.start()``) and
    flushes everything at ``close``."""
    chosen = backends.settings.counter_policy or default
    if chosen not in POLICIES:
        raise ValueError(f"counter_policy must be one of {', '.join(POLICIES)}, not {chosen!r}")
    settings = backends.settings
    if chosen != WRITE_BACK:
        backends.counters = TransactionalCounters(backends.cache)
        return
    if redis is None:
        raise ValueError("counter_policy write_back keeps its deltas in Redis: set redis_url")
    backends.counters = WriteBackCounters(
        RedisPendingDeltas(redis), backends.repos.status_counts, backends.db, backends.cache,
        interval=settings.counter_flush_interval_seconds, batch=settings.counter_flush_batch,
    )
