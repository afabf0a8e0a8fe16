"""The domain: records, IDs, shard placement and pure rules. Imports only the standard library."""

from roost.domain.entities import (
    NOTIFICATION_TYPES,
    VISIBILITIES,
    Account,
    Application,
    Identity,
    Notification,
    Relationship,
    Status,
    Token,
)
from roost.domain.ids import IdGenerator, parse_id, shard_of
from roost.domain.pagination import Page, clamp_limit
from roost.domain.shards import ShardMap, stable_hash

__all__ = [
    "NOTIFICATION_TYPES",
    "VISIBILITIES",
    "Account",
    "Application",
    "IdGenerator",
    "Identity",
    "Notification",
    "Page",
    "Relationship",
    "ShardMap",
    "Status",
    "Token",
    "clamp_limit",
    "parse_id",
    "shard_of",
    "stable_hash",
]
