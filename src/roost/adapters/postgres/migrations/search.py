"""The full-text index of statuses on PostgreSQL shards (adapters/postgres/search.py), one
table per shard, keyed by status id.

``document`` is one tsvector holding both what is searched and who may find it, so one GIN
index answers "matches every word AND may be found by this viewer" in a single index scan
(the PostgreSQL counterpart of the FTS5 table's ``body``/``searchers``/``scope`` columns):

* the words of the text, at weight D (the default) with their positions;
* at weight A: ``a<author id>``, ``m<id>`` for each mentioned account, and ``listed`` when
  the status is public and its author ``indexable``. Queries ask for words ``:D`` and for
  these ``:A``, so a word never reads as a who-may-find token, nor the reverse.

Measured against the alternative (a BIGINT[] of finders beside the tsvector, in one
multicolumn GIN index): the same plans, but the array's "listed" key holds most of the table,
and intersecting it cost about ten times the index pages the single tsvector scan reads for a
rare word (the tsvector's tri-state consistent function skips through that posting tree).
"""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "search",
        1,
        (
            "CREATE TABLE status_search (status_id BIGINT PRIMARY KEY, document tsvector NOT NULL)",
            # fastupdate off: new entries go straight into the index, not into a pending list
            # that every search scans until vacuum merges it; a long pending list makes the
            # planner (rightly) prefer reading the whole table, as the plan test showed.
            "CREATE INDEX status_search_document ON status_search USING gin (document)"
            " WITH (fastupdate = off)",
            # ANALYZE keeps the most common lexemes (ten per statistics-target unit) and guesses
            # every other word from the rarest of those: at the default (100) a rare word looked
            # ten times as common as it was, and the planner walked the whole primary key
            # newest first waiting for matches instead of asking the GIN index. The plan test
            # (tests/adapters/postgres/test_query_plans.py) holds both plans.
            "ALTER TABLE status_search ALTER COLUMN document SET STATISTICS 1000",
            # Marks the shard for the one-off index build from the stored statuses at the next
            # start (SearchIndex.rebuild_stale), as the embedded family does after a layout change.
            "CREATE TABLE search_backfill (pending INTEGER NOT NULL)",
            "INSERT INTO search_backfill (pending) VALUES (1)",
        ),
    ),
)
