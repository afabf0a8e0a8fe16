"""The embedded family's repositories, over SQLite shards (one per repository port)."""

from __future__ import annotations

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.sqlite_statuses import (
    SqliteFavourites,
    SqliteReblogs,
    SqliteStatuses,
    SqliteThreadLinks,
)
from roost.ports.repositories import Repositories


def open_repositories(db: SqliteDatabase) -> Repositories:
    return Repositories(
        statuses=SqliteStatuses(db),
        thread_links=SqliteThreadLinks(db),
        reblogs=SqliteReblogs(db),
        favourites=SqliteFavourites(db),
    )
