"""The embedded family's repositories, over SQLite shards (one per repository port)."""

from __future__ import annotations

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.sqlite_accounts import SqliteAccounts, SqliteKeyDirectory
from roost.adapters.embedded.sqlite_follows import SqliteFollowGraph, SqliteFollowRequests
from roost.adapters.embedded.sqlite_notifications import SqliteNotifications
from roost.adapters.embedded.sqlite_oauth import SqliteOAuth
from roost.adapters.embedded.sqlite_outbox import SqliteOutbox
from roost.adapters.embedded.sqlite_search import SqliteSearchIndex
from roost.adapters.embedded.sqlite_statuses import (
    SqliteFavourites,
    SqliteReblogs,
    SqliteStatusCounts,
    SqliteStatuses,
    SqliteThreadLinks,
)
from roost.ports.repositories import Repositories


def open_repositories(db: SqliteDatabase) -> Repositories:
    return Repositories(
        notifications=SqliteNotifications(db),
        search_index=SqliteSearchIndex(db),
        outbox=SqliteOutbox(db),
        statuses=SqliteStatuses(db),
        thread_links=SqliteThreadLinks(db),
        reblogs=SqliteReblogs(db),
        favourites=SqliteFavourites(db),
        status_counts=SqliteStatusCounts(db),
        accounts=SqliteAccounts(db),
        keys=SqliteKeyDirectory(db),
        follows=SqliteFollowGraph(db),
        follow_requests=SqliteFollowRequests(db),
        oauth=SqliteOAuth(db),
    )
