"""The full-text index of statuses (SQLite FTS5, rowid = status id), one per shard.

Besides the text (``body``), each row carries the facts that decide who may find it,
as tokens, so one FTS query answers "matches the words AND may be found by this
viewer" from the index alone (no per-row look-up, and ORDER BY rowid DESC LIMIT n
stops early):

* ``searchers``: ``a<author id>`` and ``m<id>`` for each mentioned account (fixed at posting);
* ``scope``: ``public`` when the status is public and its author is ``indexable``
  (re-marked when the author changes the setting).
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
            # table at the next start (SearchIndex.rebuild_stale), since migrations run in
            # name order and "search" comes before "statuses".
            "CREATE TABLE search_backfill (pending INTEGER NOT NULL)",
            "INSERT INTO search_backfill (pending) VALUES (1)",
        ),
    ),
)
