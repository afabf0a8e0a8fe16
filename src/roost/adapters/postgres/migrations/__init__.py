"""Schema steps of the PostgreSQL family, one module per area (``<area>.py``), collected in
``ALL`` for ``PgDatabase.migrate`` (which applies them sorted by component and version).

Component names are those of the embedded family (adapters/embedded/migrations/); versions
count per engine, so a fresh PostgreSQL schema starts from one clean version per component
and later changes add versions. Declare snowflake ids BIGINT (an INTEGER would overflow),
flags BOOLEAN, text TEXT, bytes BYTEA; search uses tsvector with a GIN index. Every
uniqueness rule is a constraint or a unique index: several processes write at once here.
Steps run inside a transaction, so CREATE INDEX CONCURRENTLY is not available here."""

from __future__ import annotations

# One import per area module, so that each area's line merges on its own.
from roost.adapters.postgres.migrations import accounts, notifications, outbox, search, statuses
from roost.ports.database import Migration

# Every area's steps, one line per area module.
ALL: tuple[Migration, ...] = (
    *accounts.MIGRATIONS,
    *outbox.MIGRATIONS,
    *statuses.MIGRATIONS,
    *notifications.MIGRATIONS,
    *search.MIGRATIONS,
)
