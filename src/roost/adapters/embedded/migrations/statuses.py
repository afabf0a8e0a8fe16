"""SQLite tables of the statuses area. A status lives on its author's shard; a thread's
replies and an original's reblogs on the parent's / original's shard; favourites on
both sides."""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "statuses",
        1,
        (
            "CREATE TABLE statuses ("
            " id INTEGER PRIMARY KEY, account_id BIGINT NOT NULL, text TEXT NOT NULL,"
            " content TEXT NOT NULL, visibility TEXT NOT NULL, sensitive INTEGER NOT NULL DEFAULT 0,"
            " spoiler_text TEXT NOT NULL DEFAULT '', language TEXT, in_reply_to_id BIGINT,"
            " in_reply_to_account_id BIGINT, reblog_of_id BIGINT, mention_ids TEXT NOT NULL DEFAULT '',"
            " tags TEXT NOT NULL DEFAULT '', application_id BIGINT, created_at BIGINT NOT NULL,"
            " favourites_count INTEGER NOT NULL DEFAULT 0, reblogs_count INTEGER NOT NULL DEFAULT 0,"
            " replies_count INTEGER NOT NULL DEFAULT 0)",
            # An account's statuses, newest first (profile, timeline rebuilds, celebrity merge);
            # visibility and mentions are included so those scans never touch the table itself.
            "CREATE INDEX statuses_by_account ON statuses (account_id, id, visibility, mention_ids)",
            # "Did this viewer reblog these statuses?" and unreblog.
            "CREATE INDEX statuses_reblogs_by_account ON statuses (account_id, reblog_of_id)"
            " WHERE reblog_of_id IS NOT NULL",
            # The public (local) timeline: public originals only.
            "CREATE INDEX statuses_public ON statuses (id)"
            " WHERE visibility = 'public' AND reblog_of_id IS NULL",
            # Replies, on the parent's shard (thread descendants).
            "CREATE TABLE status_replies ("
            " parent_id BIGINT NOT NULL, reply_id BIGINT NOT NULL, PRIMARY KEY (parent_id, reply_id))",
            # Who reblogged a status, on the original's shard.
            "CREATE TABLE reblogs ("
            " status_id BIGINT NOT NULL, account_id BIGINT NOT NULL, reblog_id BIGINT NOT NULL,"
            " PRIMARY KEY (status_id, account_id))",
            "CREATE UNIQUE INDEX reblogs_by_cursor ON reblogs (status_id, reblog_id)",
            # Favourites are stored on both sides, like follows.
            "CREATE TABLE favourites ("
            " status_id BIGINT NOT NULL, account_id BIGINT NOT NULL, favourite_id BIGINT NOT NULL,"
            " PRIMARY KEY (status_id, account_id))",
            "CREATE UNIQUE INDEX favourites_by_cursor ON favourites (status_id, favourite_id)",
            "CREATE TABLE account_favourites ("
            " account_id BIGINT NOT NULL, status_id BIGINT NOT NULL, favourite_id BIGINT NOT NULL,"
            " PRIMARY KEY (account_id, status_id))",
            "CREATE UNIQUE INDEX account_favourites_by_cursor ON account_favourites (account_id, favourite_id)",
            "CREATE TABLE idempotency_keys ("
            " account_id BIGINT NOT NULL, key TEXT NOT NULL, status_id BIGINT NOT NULL,"
            " created_at BIGINT NOT NULL, PRIMARY KEY (account_id, key))",
        ),
    ),
    Migration(
        "statuses",
        2,
        (
            # One reblog per account and original, by a constraint (it was a check under a
            # process-local lock). Duplicates could only come from two processes racing
            # on one data directory: keep each account's first wrapper (lowest id), give
            # the account its statuses_count back, then let the index refuse any other.
            "UPDATE accounts SET statuses_count = CASE WHEN statuses_count > d.n"
            " THEN statuses_count - d.n ELSE 0 END FROM ("
            " SELECT account_id, COUNT(*) AS n FROM statuses s WHERE reblog_of_id IS NOT NULL"
            " AND EXISTS (SELECT 1 FROM statuses k WHERE k.account_id = s.account_id"
            " AND k.reblog_of_id = s.reblog_of_id AND k.id < s.id) GROUP BY account_id) AS d"
            " WHERE accounts.id = d.account_id",
            "DELETE FROM statuses WHERE reblog_of_id IS NOT NULL AND EXISTS (SELECT 1 FROM statuses k"
            " WHERE k.account_id = statuses.account_id AND k.reblog_of_id = statuses.reblog_of_id"
            " AND k.id < statuses.id)",
            # Replaces statuses_reblogs_by_account ("did this viewer reblog these?", unreblog).
            "CREATE UNIQUE INDEX statuses_one_reblog ON statuses (account_id, reblog_of_id)"
            " WHERE reblog_of_id IS NOT NULL",
            "DROP INDEX statuses_reblogs_by_account",
        ),
    ),
)
