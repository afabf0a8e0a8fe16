"""Each embedded adapter offers every operation of its port, async where the port is async."""

from __future__ import annotations

import inspect

import pytest

from roost.adapters.embedded import (
    MemoryCache,
    SqliteDatabase,
    SqliteLog,
    SqliteShard,
    SqliteTimelineStore,
)
from roost.adapters.embedded.shared_state import (
    FileWorkerIdLease,
    FileWorkerIdLeases,
    MemoryCelebritySet,
    MemoryRateLimitStore,
)
from roost.adapters.redis import (
    RedisCelebritySet,
    RedisRateLimitStore,
    RedisTimelineStore,
    RedisWorkerIdLeases,
)
from roost.adapters.redis.shared_state import RedisWorkerIdLease
from roost.ports import Cache, Log, Shard, ShardedDatabase, TimelineStore
from roost.ports.shared_state import CelebritySet, RateLimitStore, WorkerIdLease, WorkerIdLeases

PAIRS = [(Cache, MemoryCache), (Log, SqliteLog), (TimelineStore, SqliteTimelineStore),
         (Shard, SqliteShard), (ShardedDatabase, SqliteDatabase)]
# Shared state (issue #9), embedded and Redis.
PAIRS += [(TimelineStore, RedisTimelineStore), (CelebritySet, MemoryCelebritySet), (CelebritySet, RedisCelebritySet),
          (RateLimitStore, MemoryRateLimitStore), (RateLimitStore, RedisRateLimitStore),
          (WorkerIdLeases, FileWorkerIdLeases), (WorkerIdLeases, RedisWorkerIdLeases),
          (WorkerIdLease, FileWorkerIdLease), (WorkerIdLease, RedisWorkerIdLease)]


def operations(port: type) -> dict[str, object]:
    out: dict[str, object] = {}
    for klass in reversed(port.__mro__):
        if klass is object or not getattr(klass, "_is_protocol", False):
            continue
        out.update({k: v for k, v in vars(klass).items() if not k.startswith("_") and callable(v)})
    return out


@pytest.mark.parametrize(("port", "adapter"), PAIRS, ids=lambda c: c.__name__)
def test_adapter_implements_its_port(port: type, adapter: type) -> None:
    ops = operations(port)
    assert ops, port
    for name, spec in ops.items():
        impl = getattr(adapter, name, None)
        assert impl is not None, f"{adapter.__name__} lacks {name}"
        if inspect.iscoroutinefunction(spec):
            assert inspect.iscoroutinefunction(impl), f"{adapter.__name__}.{name} must be async"
        params = [p for p in inspect.signature(spec).parameters if p != "self"]
        impl_params = list(inspect.signature(impl).parameters)
        assert all(p in impl_params for p in params), (adapter.__name__, name, params, impl_params)
