"""The notifications table (PostgreSQL); a notification lives on its recipient's shard.
``status_id`` 0 stands for "about no status", as in the embedded family, so the unique
rule covers follows too (NULLs would never collide)."""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "notifications",
        1,
        (
            "CREATE TABLE notifications ("
            " id BIGINT PRIMARY KEY, account_id BIGINT NOT NULL, type TEXT NOT NULL,"
            " from_account_id BIGINT NOT NULL, status_id BIGINT NOT NULL DEFAULT 0,"
            " created_at BIGINT NOT NULL,"
            # Consumers of the log are at-least-once: a replayed event must not notify twice.
            # Also serves withdrawing a follow's notification (remove_from).
            " CONSTRAINT notifications_once UNIQUE (account_id, type, from_account_id, status_id))",
            # The recipient's notifications, newest first (paging, with type filters).
            "CREATE INDEX notifications_by_account ON notifications (account_id, id)",
            # Paging filtered to one sender (the API's account_id parameter).
            "CREATE INDEX notifications_by_sender ON notifications (account_id, from_account_id, id)",
            # Withdrawing the notifications about a deleted status, per recipient.
            "CREATE INDEX notifications_about_status ON notifications (account_id, status_id)"
            " WHERE status_id <> 0",
        ),
    ),
)
