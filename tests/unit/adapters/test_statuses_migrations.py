"""The statuses schema's second version on a data directory made by the first: duplicate
reblogs (possible only when two processes raced) are folded into one, and from then
on the unique index refuses them."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.migrations import statuses as statuses_migrations
from roost.domain.ids import IdGenerator
from roost.domain.shards import ShardMap
from roost.runtime.backends import MIGRATIONS

FIRST = tuple(m for m in MIGRATIONS if not (m.component == "statuses" and m.version > 1))
INSERT_REBLOG = (
    "INSERT INTO statuses (id, account_id, text, content, visibility, reblog_of_id, created_at)"
    " VALUES (?, ?, '', '', 'public', ?, 0)"
)


def test_version_one_is_unchanged_and_version_two_is_new() -> None:
    versions = [m.version for m in statuses_migrations.MIGRATIONS if m.component == "statuses"]
    assert versions == [1, 2]
    assert any(s.startswith("CREATE TABLE statuses (") for s in statuses_migrations.MIGRATIONS[0].statements)


def test_upgrade_folds_duplicate_reblogs_and_fixes_the_count(tmp_path: Path) -> None:
    ids = IdGenerator()
    account, other, original = ids.next_id(1), ids.next_id(1), ids.next_id(3)
    first, duplicate, third, others = (ids.next_id(1) for _ in range(4))

    async def main() -> None:
        db = SqliteDatabase(tmp_path, ShardMap(16, 1))
        await db.migrate(FIRST)
        shard = db.shards[0]
        for acct, count in ((account, 5), (other, 1)):
            await shard.execute(
                "INSERT INTO accounts (id, username, username_lower, email, password_hash, created_at,"
                " statuses_count) VALUES (?, ?, ?, ?, '', 0, ?)", (acct, f"u{acct}", f"u{acct}", f"{acct}@x", count))
        # As two racing processes could have left them under version 1.
        for status_id in (first, duplicate, third):
            await shard.execute(INSERT_REBLOG, (status_id, account, original))
        await shard.execute(INSERT_REBLOG, (others, other, original))
        await db.migrate(MIGRATIONS)
        kept = await shard.fetch_all("SELECT id, account_id FROM statuses ORDER BY id")
        assert [(r["id"], r["account_id"]) for r in kept] == [(first, account), (others, other)]
        counts = await shard.fetch_all("SELECT id, statuses_count FROM accounts ORDER BY id")
        assert [(r["id"], r["statuses_count"]) for r in counts] == [(account, 3), (other, 1)]
        with pytest.raises(sqlite3.IntegrityError):
            shard._conn_.execute(INSERT_REBLOG, (ids.next_id(1), account, original))
        await db.migrate(MIGRATIONS)  # nothing left to do
        await db.close()

    asyncio.run(main())
