"""The full-text index of statuses, kept per shard, fed from the log by the indexer.

Embedded: SQLite FTS5 (rowid = status id). A PostgreSQL adapter would use a
tsvector column with a GIN index instead.

Besides the text (``body``), each row carries the facts that decide who may find it,
as tokens, so one FTS query answers "matches the words AND may be found by this
viewer" from the index alone (no per-row look-up, and ORDER BY rowid DESC LIMIT n
stops early):

* ``searchers``: ``a<author id>`` and ``m<id>`` for each mentioned account (fixed at posting);
* ``scope``: ``public`` when the status is public and its author is ``indexable``
  (re-marked when the author changes the setting).

What the viewer favourited or reblogged changes too often to live in the index: the
search service reads those from the viewer's own rows at query time.
"""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "search",
        1,
        ("CREATE VIRTUAL TABLE statuses_fts USING fts5(body, tokenize = 'unicode61')",),
    ),
    Migration(
        "search",
        2,
        (
            "DROP TABLE statuses_fts",
            "CREATE VIRTUAL TABLE statuses_fts USING fts5(body, searchers, scope, tokenize = 'unicode61')",
            # Statuses indexed before this version are indexed again from the statuses
            # table at the next start (SearchService.start), since migrations run in name
            # order and "search" comes before "statuses".
            "CREATE TABLE search_backfill (pending INTEGER NOT NULL)",
            "INSERT INTO search_backfill (pending) VALUES (1)",
        ),
    ),
)
