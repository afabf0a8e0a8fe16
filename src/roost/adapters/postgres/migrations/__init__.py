"""Schema steps of the PostgreSQL family, one module per area (``<area>.py``), collected in
``MIGRATIONS`` for ``PgDatabase.migrate``. Keep the component names of the embedded family
(adapters/embedded/migrations/); versions count per engine. Declare snowflake ids BIGINT
(an INTEGER would overflow), text TEXT, bytes BYTEA; search uses tsvector with a GIN index.
Steps run inside a transaction, so CREATE INDEX CONCURRENTLY is not available here."""

from __future__ import annotations

from roost.adapters.postgres.migrations import search
from roost.ports.database import Migration

MIGRATIONS: tuple[Migration, ...] = ()
ALL: tuple[Migration, ...] = (
    *search.MIGRATIONS,
)
