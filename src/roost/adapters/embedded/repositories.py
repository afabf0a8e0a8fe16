"""The embedded family's repositories, over SQLite shards (one per repository port)."""

from __future__ import annotations

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.sqlite_notifications import SqliteNotifications
from roost.adapters.embedded.sqlite_search import SqliteSearchIndex
from roost.adapters.embedded.sqlite_statuses import (
    SqliteFavourites,
    SqliteReblogs,
    SqliteStatuses,
    SqliteThreadLinks,
)
from roost.adapters.sql.accounts import SqlAccounts, SqlKeyDirectory
from roost.adapters.sql.follows import SqlFollowGraph, SqlFollowRequests
from roost.adapters.sql.oauth import SqlOAuth
from roost.adapters.sql.outbox import SqlOutbox
from roost.ports.repositories import Repositories


def open_repositories(db: SqliteDatabase) -> Repositories:
    return Repositories(
        notifications=SqliteNotifications(db),
        search_index=SqliteSearchIndex(db),
        outbox=SqlOutbox(db),
        statuses=SqliteStatuses(db),
        thread_links=SqliteThreadLinks(db),
        reblogs=SqliteReblogs(db),
        favourites=SqliteFavourites(db),
        accounts=SqlAccounts(db),
        keys=SqlKeyDirectory(db),
        follows=SqlFollowGraph(db),
        follow_requests=SqlFollowRequests(db),
        oauth=SqlOAuth(db),
    )
