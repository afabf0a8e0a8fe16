"""The PostgreSQL family's repositories (one per repository port), over ``PgDatabase``.

The accounts area, the statuses area, notifications and the outbox are the SQL
repositories both families run (adapters/sql/). The search area is still the embedded
class here: its PostgreSQL version (and tables: migrations/) arrives with its own area,
which replaces the lines marked below.
"""

from __future__ import annotations

from roost.adapters.embedded.sqlite_search import SqliteSearchIndex
from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.outbox import PgOutbox
from roost.adapters.sql.accounts import SqlAccounts, SqlKeyDirectory
from roost.adapters.sql.follows import SqlFollowGraph, SqlFollowRequests
from roost.adapters.sql.notifications import SqlNotifications
from roost.adapters.sql.oauth import SqlOAuth
from roost.adapters.sql.statuses import SqlFavourites, SqlReblogs, SqlStatuses, SqlThreadLinks
from roost.ports.repositories import Repositories


def open_repositories(db: PgDatabase) -> Repositories:
    return Repositories(
        notifications=SqlNotifications(db),
        # Until the search area's PostgreSQL repository (tsvector) lands.
        search_index=SqliteSearchIndex(db),  # type: ignore[arg-type]
        outbox=PgOutbox(db),
        statuses=SqlStatuses(db, position_function="strpos"),
        thread_links=SqlThreadLinks(db),
        reblogs=SqlReblogs(db),
        favourites=SqlFavourites(db),
        accounts=SqlAccounts(db),
        keys=SqlKeyDirectory(db),
        follows=SqlFollowGraph(db),
        follow_requests=SqlFollowRequests(db),
        oauth=SqlOAuth(db),
    )
