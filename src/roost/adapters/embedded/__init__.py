"""The embedded shape: SQLite shards, an in-process cache, a SQLite-backed log and timelines."""

from roost.adapters.embedded.cache import MemoryCache
from roost.adapters.embedded.database import SqliteDatabase, SqliteShard
from roost.adapters.embedded.log import SqliteLog
from roost.adapters.embedded.timelines import SqliteTimelineStore

__all__ = ["MemoryCache", "SqliteDatabase", "SqliteLog", "SqliteShard", "SqliteTimelineStore"]
