"""The outbox table (SQLite): events staged with the data they describe, until relayed."""

from roost.ports.database import Migration

MIGRATIONS = (
    Migration(
        "outbox",
        1,
        (
            "CREATE TABLE outbox ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT, key BIGINT NOT NULL, event BLOB NOT NULL)",
        ),
    ),
)
