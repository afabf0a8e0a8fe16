"""The embedded family's schema (SQLite DDL), one module per area, collected by
``runtime.container.MIGRATIONS`` for ``SqliteDatabase.migrate``. Component names and
versions are those already recorded in existing data directories' schema_migrations."""
