"""What every service is built with: the ports, chosen by the runtime."""

from __future__ import annotations

from dataclasses import dataclass, field

from roost.domain.ids import IdGenerator
from roost.domain.placements import Placement
from roost.failpoints import Failpoints
from roost.ports import Cache, Log, Repositories, ShardedDatabase, TimelineStore
from roost.settings import Settings


@dataclass
class Backends:
    settings: Settings
    db: ShardedDatabase
    cache: Cache
    log: Log
    timelines: TimelineStore
    repos: Repositories
    ids: IdGenerator = field(default_factory=IdGenerator)
    failpoints: Failpoints = field(default_factory=Failpoints)
    # How new accounts are placed on shards (None: hash over db.shard_map, the default).
    placement: Placement | None = None
