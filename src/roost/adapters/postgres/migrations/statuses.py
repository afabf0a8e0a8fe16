"""PostgreSQL tables of the statuses area (the embedded family's are in
``adapters/embedded/migrations/statuses.py``; the repositories in ``adapters/sql/statuses.py``
run on both). A status lives on its author's shard; a thread's replies and an original's
reblogs on the parent's / original's shard; favourites on both sides.

Every uniqueness rule is a constraint of the store, which is what keeps it when processes
race: one reblog per account and original (``statuses_one_reblog``), one favourite and one
reblog per account and status (the primary keys), one status per idempotency key. Each hot
query has an index; the comments name the queries.
"""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "statuses",
        1,
        (
            "CREATE TABLE statuses ("
            " id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, text TEXT NOT NULL,"
            " content TEXT NOT NULL,"
            " visibility TEXT NOT NULL CHECK (visibility IN ('public', 'unlisted', 'private', 'direct')),"
            " sensitive BOOLEAN NOT NULL DEFAULT false, spoiler_text TEXT NOT NULL DEFAULT '',"
            " language TEXT, in_reply_to_id BIGINT, in_reply_to_account_id BIGINT, reblog_of_id BIGINT,"
            " mention_ids TEXT NOT NULL DEFAULT '', tags TEXT NOT NULL DEFAULT '', application_id BIGINT,"
            " created_at BIGINT NOT NULL,"
            " favourites_count INTEGER NOT NULL DEFAULT 0 CHECK (favourites_count >= 0),"
            " reblogs_count INTEGER NOT NULL DEFAULT 0 CHECK (reblogs_count >= 0),"
            " replies_count INTEGER NOT NULL DEFAULT 0 CHECK (replies_count >= 0))",
            # An account's statuses, newest first: profile pages, home reads per author, the
            # celebrity merge, account deletion. Visibility rides along for the filters; the
            # mention list does not (a long one would pass the B-tree's entry size limit).
            "CREATE INDEX statuses_by_account ON statuses (account_id, id) INCLUDE (visibility)",
            # One reblog per account and original; also "did this viewer reblog these?",
            # unreblog and the viewer's reblogs newest first (search).
            "CREATE UNIQUE INDEX statuses_one_reblog ON statuses (account_id, reblog_of_id)"
            " WHERE reblog_of_id IS NOT NULL",
            # The public (local) timeline: public originals only.
            "CREATE INDEX statuses_public ON statuses (id)"
            " WHERE visibility = 'public' AND reblog_of_id IS NULL",
            # Replies, on the parent's shard (thread descendants, by the primary key).
            "CREATE TABLE status_replies ("
            " parent_id BIGINT NOT NULL, reply_id BIGINT NOT NULL, PRIMARY KEY (parent_id, reply_id))",
            # Who reblogged a status, on the original's shard: one row per account, paged by
            # the wrapper's id (reblogged_by).
            "CREATE TABLE reblogs ("
            " status_id BIGINT NOT NULL, account_id BIGINT NOT NULL, reblog_id BIGINT NOT NULL,"
            " PRIMARY KEY (status_id, account_id),"
            " CONSTRAINT reblogs_by_cursor UNIQUE (status_id, reblog_id))",
            # Favourites are stored on both sides, like follows: the status's side pages
            # favourited_by, the account's side the favourites list and the viewer flags.
            "CREATE TABLE favourites ("
            " status_id BIGINT NOT NULL, account_id BIGINT NOT NULL, favourite_id BIGINT NOT NULL,"
            " PRIMARY KEY (status_id, account_id),"
            " CONSTRAINT favourites_by_cursor UNIQUE (status_id, favourite_id))",
            "CREATE TABLE account_favourites ("
            " account_id BIGINT NOT NULL, status_id BIGINT NOT NULL, favourite_id BIGINT NOT NULL,"
            " PRIMARY KEY (account_id, status_id),"
            " CONSTRAINT account_favourites_by_cursor UNIQUE (account_id, favourite_id))",
            "CREATE TABLE idempotency_keys ("
            " account_id BIGINT NOT NULL, key TEXT NOT NULL, status_id BIGINT NOT NULL,"
            " created_at BIGINT NOT NULL, PRIMARY KEY (account_id, key))",
        ),
    ),
)
