"""The PostgreSQL family's repositories (one per repository port), over ``PgDatabase``.

The accounts, statuses and notifications areas and the outbox are the SQL repositories
both families run (adapters/sql/); search is PostgreSQL's own (tsvector, search.py).
"""

from __future__ import annotations

from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.outbox import PgOutbox
from roost.adapters.postgres.search import PgSearchIndex
from roost.adapters.sql.accounts import SqlAccounts, SqlKeyDirectory
from roost.adapters.sql.follows import SqlFollowGraph, SqlFollowRequests
from roost.adapters.sql.notifications import SqlNotifications
from roost.adapters.sql.oauth import SqlOAuth
from roost.adapters.sql.statuses import (
    SqlFavourites,
    SqlReblogs,
    SqlStatusCounts,
    SqlStatuses,
    SqlThreadLinks,
)
from roost.ports.repositories import Repositories


def open_repositories(db: PgDatabase) -> Repositories:
    return Repositories(
        notifications=SqlNotifications(db),
        search_index=PgSearchIndex(db),
        outbox=PgOutbox(db),
        statuses=SqlStatuses(db, position_function="strpos"),
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
