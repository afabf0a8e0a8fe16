"""Ports: the interfaces every backend implements. Services depend on these, never on drivers."""

from roost.ports.cache import Cache
from roost.ports.database import (
    Executor,
    Migration,
    Params,
    Row,
    Shard,
    ShardedDatabase,
    ShardHandle,
    Tx,
)
from roost.ports.log import Log, Record
from roost.ports.repositories import Repositories
from roost.ports.timelines import TimelineStore

__all__ = [
    "Cache",
    "Executor",
    "Log",
    "Migration",
    "Params",
    "Record",
    "Repositories",
    "Row",
    "Shard",
    "ShardHandle",
    "ShardedDatabase",
    "TimelineStore",
    "Tx",
]
