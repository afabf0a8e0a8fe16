"""The PostgreSQL family's repositories (one per repository port), over ``PgDatabase``.

The accounts, statuses and notifications areas are the SQL repositories both families run
(adapters/sql/); search (tsvector, search.py) and the outbox's primary reads are
PostgreSQL's own.
"""

from __future__ import annotations

from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.outbox import PgOutbox
from roost.adapters.postgres.search import PgSearchIndex
from roost.adapters.sql.repositories import sql_repositories
from roost.ports.repositories import Repositories


def open_repositories(db: PgDatabase) -> Repositories:
    return sql_repositories(db, search_index=PgSearchIndex(db), outbox=PgOutbox(db),
                            position_function="strpos")
