"""The embedded family's repositories, over SQLite shards (one per repository port)."""

from __future__ import annotations

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.sqlite_accounts import SqliteAccounts, SqliteKeyDirectory
from roost.adapters.embedded.sqlite_follows import SqliteFollowGraph, SqliteFollowRequests
from roost.adapters.embedded.sqlite_oauth import SqliteOAuth
from roost.ports.repositories import Repositories


def open_repositories(db: SqliteDatabase) -> Repositories:
    return Repositories(
        accounts=SqliteAccounts(db),
        keys=SqliteKeyDirectory(db),
        follows=SqliteFollowGraph(db),
        follow_requests=SqliteFollowRequests(db),
        oauth=SqliteOAuth(db),
    )
