"""What every service is built with: the ports, chosen by the runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from roost.domain.ids import IdGenerator
from roost.domain.placements import Placement
from roost.failpoints import Failpoints
from roost.ports import Cache, Log, Repositories, ShardedDatabase, TimelineStore
from roost.ports.counters import StatusCounterPolicy
from roost.ports.shared_state import CelebritySet, RateLimitStore, WorkerIdLease
from roost.settings import Settings


@dataclass
class Backends:
    settings: Settings
    db: ShardedDatabase
    cache: Cache
    log: Log
    timelines: TimelineStore
    repos: Repositories
    # Accounts merged into home timelines at read time (shared state, issue #9).
    celebrities: CelebritySet
    ids: IdGenerator = field(default_factory=IdGenerator)
    failpoints: Failpoints = field(default_factory=Failpoints)
    # How new accounts are placed on shards (None: hash over db.shard_map, the default).
    placement: Placement | None = None
    # The worker-id lease behind ``ids`` (issue #9), released at close.
    worker_lease: WorkerIdLease | None = None
    # Fixed-window counters of the gateway's rate limits (None: each limiter's own memory).
    rate_limits: RateLimitStore | None = None
    # Where status counters move (ports/counters.py; None: transactional, the default).
    # Set by runtime/counters.py from Settings.counter_policy; closed before the database.
    counters: StatusCounterPolicy | None = None
    # Run last at close (clients of shared engines).
    on_close: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
