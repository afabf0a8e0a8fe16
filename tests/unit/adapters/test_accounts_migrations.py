"""The accounts tables moved from services/accounts/schema.py to the embedded family's
migrations under the same component names and versions: data directories made before
the move must not be migrated again (re-running ``ALTER TABLE ... ADD COLUMN`` fails)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.embedded.migrations.accounts import MIGRATIONS
from roost.domain.shards import ShardMap

# What every existing install has recorded for these tables.
RECORDED = {("accounts", 1), ("accounts", 2), ("accounts", 3), ("accounts", 4), ("oauth", 1)}
# Steps added since, under names of their own (accounts.revision: write-through).
ADDED = {("accounts_revision", 1)}


def test_the_steps_keep_their_names_and_versions() -> None:
    assert {(m.component, m.version) for m in MIGRATIONS} == RECORDED | ADDED


def test_a_store_migrated_before_is_left_alone(tmp_path: Path) -> None:
    async def migrate_twice() -> None:
        db = SqliteDatabase(tmp_path, ShardMap(4, 2))
        await db.migrate(MIGRATIONS)
        await db.close()
        again = SqliteDatabase(tmp_path, ShardMap(4, 2))
        await again.migrate(MIGRATIONS)  # would raise "duplicate column" if re-applied
        await again.close()

    asyncio.run(migrate_twice())
    for path in sorted(tmp_path.glob("*.sqlite3")):
        conn = sqlite3.connect(path)
        assert set(conn.execute("SELECT component, version FROM schema_migrations")) == RECORDED | ADDED
        conn.close()
