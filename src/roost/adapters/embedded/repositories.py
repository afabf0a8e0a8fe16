"""The embedded family's repositories, over SQLite shards (one per repository port)."""

from __future__ import annotations

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.sqlite_search import SqliteSearchIndex
from roost.adapters.sql.accounts import SqlAccounts, SqlKeyDirectory
from roost.adapters.sql.follows import SqlFollowGraph, SqlFollowRequests
from roost.adapters.sql.notifications import SqlNotifications
from roost.adapters.sql.oauth import SqlOAuth
from roost.adapters.sql.outbox import SqlOutbox
from roost.adapters.sql.statuses import (
    SqlFavourites,
    SqlReblogs,
    SqlStatusCounts,
    SqlStatuses,
    SqlThreadLinks,
)
from roost.ports.repositories import Repositories


def open_repositories(db: SqliteDatabase) -> Repositories:
    return Repositories(
        notifications=SqlNotifications(db),
        search_index=SqliteSearchIndex(db),
        outbox=SqlOutbox(db),
        statuses=SqlStatuses(db, position_function="instr"),
        thread_links=SqlThreadLinks(db),
        reblogs=SqlReblogs(db),
        favourites=SqlFavourites(db),
        status_counts=SqlStatusCounts(db),
        accounts=SqlAccounts(db),
        keys=SqlKeyDirectory(db),
        follows=SqlFollowGraph(db),
        follow_requests=SqlFollowRequests(db),
        oauth=SqlOAuth(db),
    )
