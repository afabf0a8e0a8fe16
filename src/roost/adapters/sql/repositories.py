"""Every repository of a SQL family: the ones written once in adapters/sql/, plus the few
pieces where the engines differ, which the family hands in."""

from __future__ import annotations

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
from roost.ports.database import ShardedDatabase
from roost.ports.outbox import OutboxRepository
from roost.ports.repositories import Repositories
from roost.ports.search import SearchIndex


def sql_repositories(db: ShardedDatabase, *, search_index: SearchIndex, outbox: OutboxRepository,
                     position_function: str) -> Repositories:
    """``position_function``: the engine's substring-position function (SQLite ``instr``,
    PostgreSQL ``strpos``), for the whole-tag match."""
    return Repositories(
        notifications=SqlNotifications(db),
        search_index=search_index,
        outbox=outbox,
        statuses=SqlStatuses(db, position_function=position_function),
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
