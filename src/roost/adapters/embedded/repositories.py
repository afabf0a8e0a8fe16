"""The embedded family's repositories, over SQLite shards (one per repository port): the
SQL repositories both families run, with SQLite's own full-text search (FTS5)."""

from __future__ import annotations

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.sqlite_search import SqliteSearchIndex
from roost.adapters.sql.outbox import SqlOutbox
from roost.adapters.sql.repositories import sql_repositories
from roost.ports.repositories import Repositories


def open_repositories(db: SqliteDatabase) -> Repositories:
    return sql_repositories(db, search_index=SqliteSearchIndex(db), outbox=SqlOutbox(db),
                            position_function="instr")
