"""SQLite DDL of the embedded family, one module per area (same component names and
versions as before the move, so existing data directories are not migrated again)."""
