"""The embedded family's schema (SQLite DDL), one module per area, collected by
``ALL`` below (named by ``runtime.backends``) for ``SqliteDatabase.migrate``. Component names and
versions are those already recorded in existing data directories' schema_migrations."""

from roost.adapters.embedded.migrations import accounts, notifications, outbox, search, statuses
from roost.ports.database import Migration

# Every area's steps; SqliteDatabase.migrate applies them sorted by (component, version).
ALL: tuple[Migration, ...] = (
    *accounts.MIGRATIONS,
    *statuses.MIGRATIONS,
    *notifications.MIGRATIONS,
    *search.MIGRATIONS,
    *outbox.MIGRATIONS,
)
