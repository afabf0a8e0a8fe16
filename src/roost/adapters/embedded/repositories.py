"""The embedded family's repositories, over SQLite shards (one per repository port)."""

from __future__ import annotations

from roost.adapters.embedded.database import SqliteDatabase
from roost.ports.repositories import Repositories


def open_repositories(db: SqliteDatabase) -> Repositories:
    return Repositories()
