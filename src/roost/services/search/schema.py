"""The full-text index of statuses, kept per shard, fed from the log by the indexer.

Embedded: SQLite FTS5 (rowid = status id). A PostgreSQL adapter would use a
tsvector column with a GIN index instead.
"""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "search",
        1,
        ("CREATE VIRTUAL TABLE statuses_fts USING fts5(body, tokenize = 'unicode61')",),
    ),
)
