"""The notifications table (SQLite); a notification lives on its recipient's shard."""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "notifications",
        1,
        (
            "CREATE TABLE notifications ("
            " id INTEGER PRIMARY KEY, account_id BIGINT NOT NULL, type TEXT NOT NULL,"
            " from_account_id BIGINT NOT NULL, status_id BIGINT NOT NULL DEFAULT 0,"
            " created_at BIGINT NOT NULL)",
            "CREATE INDEX notifications_by_account ON notifications (account_id, id)",
            # Consumers of the log are at-least-once: a replayed event must not notify twice.
            "CREATE UNIQUE INDEX notifications_once ON notifications"
            " (account_id, type, from_account_id, status_id)",
        ),
    ),
)
