"""Tables of the accounts area on PostgreSQL: accounts, the key directory, follows, follow
requests (component ``accounts``) and OAuth (component ``oauth``).

The same tables and columns as the embedded family's (the SQL repositories in
adapters/sql/ run on both), as one clean version per component. Placement is the
repositories' business: an account on the shard its id names, a directory key, an
application, a token or a code on the shard its hash names.
"""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "accounts",
        1,
        (
            # username_lower and display_name_lower are compared byte-wise (COLLATE "C"):
            # prefix search is a range scan [prefix, prefix || U+10FFFF), which a
            # linguistic collation would neither order nor index that way.
            "CREATE TABLE accounts ("
            " id BIGINT PRIMARY KEY, username TEXT NOT NULL, username_lower TEXT COLLATE \"C\" NOT NULL,"
            " display_name TEXT NOT NULL DEFAULT '', display_name_lower TEXT COLLATE \"C\" NOT NULL DEFAULT '',"
            " note TEXT NOT NULL DEFAULT '', email TEXT NOT NULL, password_hash TEXT NOT NULL,"
            " locked BOOLEAN NOT NULL DEFAULT false, bot BOOLEAN NOT NULL DEFAULT false,"
            " indexable BOOLEAN NOT NULL DEFAULT false, created_at BIGINT NOT NULL,"
            " followers_count INTEGER NOT NULL DEFAULT 0, following_count INTEGER NOT NULL DEFAULT 0,"
            " statuses_count INTEGER NOT NULL DEFAULT 0, last_status_at BIGINT,"
            # Raised by every write to the row (profile, counters): write-through orders the
            # copies it puts in the shared cache by it (services/write_through.py). The
            # embedded family adds it as its own step (accounts_revision); here it is part of
            # the first version, as no PostgreSQL store predates it.
            " revision BIGINT NOT NULL DEFAULT 0)",
            "CREATE INDEX accounts_username_lower ON accounts (username_lower)",
            "CREATE INDEX accounts_display_name_lower ON accounts (display_name_lower)",
            # One owner per unique key (username, e-mail): the primary key is the rule two
            # registering processes race on (INSERT ... ON CONFLICT DO NOTHING).
            "CREATE TABLE account_directory ("
            " kind TEXT NOT NULL, key TEXT NOT NULL, account_id BIGINT NOT NULL,"
            " PRIMARY KEY (kind, key))",
            # A follow on both sides: 'following' on the follower's shard, 'followers' on the
            # followee's. One edge per pair (primary keys); follow_id (a snowflake) is the
            # pagination cursor, unique per owner.
            "CREATE TABLE following ("
            " account_id BIGINT NOT NULL, target_id BIGINT NOT NULL, follow_id BIGINT NOT NULL,"
            " show_reblogs BOOLEAN NOT NULL DEFAULT true, notify BOOLEAN NOT NULL DEFAULT false,"
            " PRIMARY KEY (account_id, target_id))",
            "CREATE UNIQUE INDEX following_by_cursor ON following (account_id, follow_id)",
            "CREATE TABLE followers ("
            " account_id BIGINT NOT NULL, follower_id BIGINT NOT NULL, follow_id BIGINT NOT NULL,"
            " PRIMARY KEY (account_id, follower_id))",
            # Fanout walks an author's followers in cursor order: follower_id carried in the
            # index answers it by an index-only scan.
            "CREATE UNIQUE INDEX followers_by_cursor ON followers (account_id, follow_id) INCLUDE (follower_id)",
            # Pending requests to a locked account, on its shard only; one per pair.
            "CREATE TABLE follow_requests ("
            " account_id BIGINT NOT NULL, requester_id BIGINT NOT NULL, request_id BIGINT NOT NULL,"
            " show_reblogs BOOLEAN NOT NULL DEFAULT true, notify BOOLEAN NOT NULL DEFAULT false,"
            " PRIMARY KEY (account_id, requester_id))",
            "CREATE UNIQUE INDEX follow_requests_by_cursor ON follow_requests (account_id, request_id)"
            " INCLUDE (requester_id)",
            # Deleting an account withdraws the requests it sent, on every shard; the
            # requester's "did I ask?" reads it too.
            "CREATE INDEX follow_requests_by_requester ON follow_requests (requester_id, account_id)",
        ),
    ),
    Migration(
        "oauth",
        1,
        (
            # Placed by hash of client_id (what a token request names); application_ids maps
            # the snowflake id back, on the id's shard.
            "CREATE TABLE applications ("
            " client_id TEXT PRIMARY KEY, id BIGINT NOT NULL UNIQUE, name TEXT NOT NULL, website TEXT,"
            " redirect_uris TEXT NOT NULL, scopes TEXT NOT NULL, client_secret TEXT NOT NULL,"
            " created_at BIGINT NOT NULL)",
            "CREATE TABLE application_ids (id BIGINT PRIMARY KEY, client_id TEXT NOT NULL)",
            "CREATE TABLE tokens ("
            " token TEXT PRIMARY KEY, application_id BIGINT NOT NULL, account_id BIGINT,"
            " scopes TEXT NOT NULL, created_at BIGINT NOT NULL)",
            # Revoking every token of an account (password change, deletion).
            "CREATE INDEX tokens_by_account ON tokens (account_id) WHERE account_id IS NOT NULL",
            # A code is redeemed once: DELETE ... WHERE code = ? tells the one redeemer.
            "CREATE TABLE authorization_codes ("
            " code TEXT PRIMARY KEY, application_id BIGINT NOT NULL, account_id BIGINT NOT NULL,"
            " scopes TEXT NOT NULL, redirect_uri TEXT NOT NULL, expires_at BIGINT NOT NULL,"
            " code_challenge TEXT, code_challenge_method TEXT)",
        ),
    ),
)
