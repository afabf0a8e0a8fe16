"""The PostgreSQL family's repositories (one per repository port), over ``PgDatabase``.

The accounts area and the outbox are the SQL repositories both families run
(adapters/sql/). The statuses, notifications and search areas are still the embedded
classes here: their SQL is mostly portable, and their PostgreSQL versions (and tables:
migrations/) arrive with their own areas, which replace the lines marked below.
"""

from __future__ import annotations

from roost.adapters.embedded.sqlite_notifications import SqliteNotifications
from roost.adapters.embedded.sqlite_search import SqliteSearchIndex
from roost.adapters.embedded.sqlite_statuses import (
    SqliteFavourites,
    SqliteReblogs,
    SqliteStatuses,
    SqliteThreadLinks,
)
from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.outbox import PgOutbox
from roost.adapters.sql.accounts import SqlAccounts, SqlKeyDirectory
from roost.adapters.sql.follows import SqlFollowGraph, SqlFollowRequests
from roost.adapters.sql.oauth import SqlOAuth
from roost.ports.repositories import Repositories


def open_repositories(db: PgDatabase) -> Repositories:
    return Repositories(
        # Until the notifications area's PostgreSQL repository lands.
        notifications=SqliteNotifications(db),  # type: ignore[arg-type]
        # Until the search area's PostgreSQL repository (tsvector) lands.
        search_index=SqliteSearchIndex(db),  # type: ignore[arg-type]
        outbox=PgOutbox(db),
        # Until the statuses area's PostgreSQL repositories land.
        statuses=SqliteStatuses(db),  # type: ignore[arg-type]
        thread_links=SqliteThreadLinks(db),  # type: ignore[arg-type]
        reblogs=SqliteReblogs(db),  # type: ignore[arg-type]
        favourites=SqliteFavourites(db),  # type: ignore[arg-type]
        accounts=SqlAccounts(db),
        keys=SqlKeyDirectory(db),
        follows=SqlFollowGraph(db),
        follow_requests=SqlFollowRequests(db),
        oauth=SqlOAuth(db),
    )
