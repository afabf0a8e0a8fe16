"""Tables of the accounts area (accounts, the key directory, follows, follow requests, OAuth), SQLite DDL."""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "accounts",
        1,
        (
            "CREATE TABLE accounts ("
            " id INTEGER PRIMARY KEY, username TEXT NOT NULL, username_lower TEXT NOT NULL,"
            " display_name TEXT NOT NULL DEFAULT '', display_name_lower TEXT NOT NULL DEFAULT '',"
            " note TEXT NOT NULL DEFAULT '', email TEXT NOT NULL, password_hash TEXT NOT NULL,"
            " locked INTEGER NOT NULL DEFAULT 0, bot INTEGER NOT NULL DEFAULT 0,"
            " created_at BIGINT NOT NULL, followers_count INTEGER NOT NULL DEFAULT 0,"
            " following_count INTEGER NOT NULL DEFAULT 0, statuses_count INTEGER NOT NULL DEFAULT 0,"
            " last_status_at BIGINT)",
            "CREATE INDEX accounts_username_lower ON accounts (username_lower)",
            "CREATE INDEX accounts_display_name_lower ON accounts (display_name_lower)",
            # Unique keys (username, e-mail) -> account, placed by hash of the key, so a
            # lookup by name touches one shard although accounts are placed by id.
            "CREATE TABLE account_directory ("
            " kind TEXT NOT NULL, key TEXT NOT NULL, account_id BIGINT NOT NULL,"
            " PRIMARY KEY (kind, key))",
            # Follows are stored on both sides: 'following' on the follower's shard,
            # 'followers' on the followee's shard. follow_id is the pagination cursor.
            "CREATE TABLE following ("
            " account_id BIGINT NOT NULL, target_id BIGINT NOT NULL, follow_id BIGINT NOT NULL,"
            " show_reblogs INTEGER NOT NULL DEFAULT 1, notify INTEGER NOT NULL DEFAULT 0,"
            " PRIMARY KEY (account_id, target_id))",
            "CREATE UNIQUE INDEX following_by_cursor ON following (account_id, follow_id)",
            "CREATE TABLE followers ("
            " account_id BIGINT NOT NULL, follower_id BIGINT NOT NULL, follow_id BIGINT NOT NULL,"
            " PRIMARY KEY (account_id, follower_id))",
            "CREATE UNIQUE INDEX followers_by_cursor ON followers (account_id, follow_id)",
            "CREATE TABLE applications ("
            " client_id TEXT PRIMARY KEY, id BIGINT NOT NULL, name TEXT NOT NULL, website TEXT,"
            " redirect_uris TEXT NOT NULL, scopes TEXT NOT NULL, client_secret TEXT NOT NULL,"
            " created_at BIGINT NOT NULL)",
            "CREATE TABLE application_ids (id INTEGER PRIMARY KEY, client_id TEXT NOT NULL)",
            "CREATE TABLE tokens ("
            " token TEXT PRIMARY KEY, application_id BIGINT NOT NULL, account_id BIGINT,"
            " scopes TEXT NOT NULL, created_at BIGINT NOT NULL)",
            "CREATE INDEX tokens_by_account ON tokens (account_id)",
            "CREATE TABLE authorization_codes ("
            " code TEXT PRIMARY KEY, application_id BIGINT NOT NULL, account_id BIGINT NOT NULL,"
            " scopes TEXT NOT NULL, redirect_uri TEXT NOT NULL, expires_at BIGINT NOT NULL)",
        ),
    ),
    Migration(
        "accounts",
        2,
        (
            # Fanout reads every follower of an author in cursor order: carrying
            # follower_id in the cursor index answers it from the index alone
            # (1.6x faster in memory, more once the table outgrows the page cache).
            # follow_id stays unique: it is a snowflake id.
            "DROP INDEX followers_by_cursor",
            "CREATE UNIQUE INDEX followers_by_cursor ON followers (account_id, follow_id, follower_id)",
        ),
    ),
    Migration(
        "accounts",
        3,
        (
            # Pending follow requests to locked accounts, on the locked account's shard
            # only: one row, written in one transaction, so there is no half to repair.
            # The requester's side (Relationship.requested) is a primary-key lookup here.
            # A request is not a follow: nothing that reads 'following' or 'followers'
            # (fanout, visibility, counters) ever sees it.
            "CREATE TABLE follow_requests ("
            " account_id BIGINT NOT NULL, requester_id BIGINT NOT NULL, request_id BIGINT NOT NULL,"
            " show_reblogs INTEGER NOT NULL DEFAULT 1, notify INTEGER NOT NULL DEFAULT 0,"
            " PRIMARY KEY (account_id, requester_id))",
            "CREATE UNIQUE INDEX follow_requests_by_cursor ON follow_requests (account_id, request_id)",
            # Deleting an account withdraws the requests it sent, on every shard.
            "CREATE INDEX follow_requests_by_requester ON follow_requests (requester_id)",
        ),
    ),
    Migration(
        "accounts",
        4,
        (
            # Whether the account's public statuses may be found by anyone's full-text
            # search (Mastodon 4.2's opt-in; off for every account until it says so).
            "ALTER TABLE accounts ADD COLUMN indexable INTEGER NOT NULL DEFAULT 0",
        ),
    ),
    # Its own component name, so that it cannot collide with another branch's next
    # "accounts" step: a version already recorded is never applied again.
    Migration(
        "oauth",
        1,
        (
            # PKCE (RFC 7636): the challenge an authorization code was issued against.
            "ALTER TABLE authorization_codes ADD COLUMN code_challenge TEXT",
            "ALTER TABLE authorization_codes ADD COLUMN code_challenge_method TEXT",
        ),
    ),
    # Own component name too (see "oauth" above).
    Migration(
        "accounts_revision",  # sorts after "accounts" (steps apply by name)
        1,
        (
            # Raised by every write to the row (profile, counters): write-through orders
            # the copies it puts in a shared cache by it (services/write_through.py).
            "ALTER TABLE accounts ADD COLUMN revision BIGINT NOT NULL DEFAULT 0",
        ),
    ),
)
