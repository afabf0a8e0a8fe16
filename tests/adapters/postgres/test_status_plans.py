"""Each hot query of the statuses area and of notifications has its index on PostgreSQL.

The PostgreSQL migrations of both areas are applied in a schema of their own on a real
primary; with sequential scans priced out (``enable_seqscan = off``) the planner takes an
index wherever one can answer the query, so a plan that still reads the table sequentially,
or answers through some other index than the one named for the query, shows a missing or
unusable index. The statements are the repositories' own constants where they are fixed, and
copies of what they build otherwise (as in tests/api/test_query_plans.py for SQLite).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from roost.adapters.postgres.migrations import notifications as notification_tables
from roost.adapters.postgres.migrations import statuses as status_tables
from roost.adapters.postgres.sql import to_dollar
from roost.adapters.sql import statuses as st

from .conftest import Cluster

A, B, S = 7_000_000_000_000_000, 7_000_000_000_000_001, 7_000_000_000_000_002
IDS = (S, S + 1, S + 2)

# name: (statement, parameters, the index that must answer it, or the indexes that could:
# on empty tables the planner picks any of those equally good for the query's key)
HOT: dict[str, tuple[str, tuple[Any, ...], str | tuple[str, ...]]] = {
    "home read per author": (
        "SELECT * FROM (SELECT account_id, id FROM statuses WHERE account_id = ? AND id < ? AND"
        " (visibility <> 'direct' OR account_id = ? OR (' ' || mention_ids || ' ') LIKE ?)"
        " ORDER BY id DESC LIMIT ?) AS page UNION ALL SELECT * FROM (SELECT account_id, id FROM"
        " statuses WHERE account_id = ? AND (visibility <> 'direct' OR account_id = ? OR"
        " (' ' || mention_ids || ' ') LIKE ?) ORDER BY id DESC LIMIT ?) AS page",
        (A, S, B, "% 1 %", 20, B, B, "% 1 %", 20), "statuses_by_account"),
    "profile": (
        "SELECT id FROM statuses WHERE account_id = ? AND visibility IN ('public', 'unlisted')"
        " AND id < ? AND reblog_of_id IS NULL ORDER BY id DESC LIMIT ?", (A, S, 20), "statuses_by_account"),
    "profile, tagged": (
        "SELECT id FROM statuses WHERE account_id = ? AND visibility IN ('public', 'unlisted')"
        " AND strpos(' ' || tags || ' ', ?) > 0 ORDER BY id DESC LIMIT ?", (A, " x ", 20),
        "statuses_by_account"),
    "an account's public statuses": (
        "SELECT id FROM statuses WHERE account_id = ? AND visibility = 'public' AND id < ?"
        " ORDER BY id DESC LIMIT ?", (A, S, 20), "statuses_by_account"),
    "public timeline": (
        "SELECT id FROM statuses WHERE visibility = 'public' AND reblog_of_id IS NULL AND id < ?"
        " ORDER BY id DESC LIMIT ?", (S, 20), "statuses_public"),
    "celebrity merge": (st.RECENT_BY_ACCOUNT, (A, 800), "statuses_by_account"),
    "celebrity direct mentions": (st.DIRECT_MENTIONING, (A, 800, "% 1 %"), "statuses_by_account"),
    "oldest statuses (account deletion)": (st.OLDEST_BY_ACCOUNT, (A, 200), "statuses_by_account"),
    "statuses by id": (f"SELECT {st.COLUMNS} FROM statuses WHERE id IN (?, ?, ?)", IDS, "statuses_pkey"),
    "reblog by account": (st.REBLOG_BY_ACCOUNT, (A, S), "statuses_one_reblog"),
    "viewer reblogs set": (st.VIEWER_REBLOGS_SET, (A, 5001), "statuses_one_reblog"),
    "viewer reblogs, newest first": (
        "SELECT reblog_of_id AS id FROM statuses WHERE account_id = ? AND reblog_of_id IS NOT NULL"
        " AND reblog_of_id < ? ORDER BY reblog_of_id DESC LIMIT ?", (A, S, 200), "statuses_one_reblog"),
    "viewer flags": (
        "SELECT 0 AS kind, status_id AS id FROM account_favourites WHERE account_id = ?"
        " AND status_id IN (?, ?, ?) UNION ALL SELECT 1 AS kind, reblog_of_id AS id FROM statuses"
        " WHERE account_id = ? AND reblog_of_id IN (?, ?, ?)", (A, *IDS, A, *IDS), "statuses_one_reblog"),
    "take over an orphaned key": (st.TAKE_OVER_ORPHAN_KEY, (S, 1, A, "k"), "idempotency_keys_pkey"),
    "idempotency key": (st.IDEMPOTENCY_KEY, (A, "k"), "idempotency_keys_pkey"),
    "thread replies": (st.REPLIES, (S,), "status_replies_pkey"),
    "reblog wrappers": (st.REBLOG_WRAPPERS, (S,), ("reblogs_pkey", "reblogs_by_cursor")),
    "reblogged_by": (
        "SELECT reblog_id AS cursor, account_id AS other FROM reblogs WHERE status_id = ?"
        " AND reblog_id < ? ORDER BY reblog_id DESC LIMIT ?", (S, A, 40), "reblogs_by_cursor"),
    "favourited_by": (
        "SELECT favourite_id AS cursor, account_id AS other FROM favourites WHERE status_id = ?"
        " AND favourite_id > ? ORDER BY favourite_id ASC LIMIT ?", (S, A, 40), "favourites_by_cursor"),
    "favourite by account": (st.FAVOURITE_ID, (S, A), "favourites_pkey"),
    "favourites list": (
        "SELECT favourite_id AS cursor, status_id AS other FROM account_favourites WHERE account_id = ?"
        " AND favourite_id < ? ORDER BY favourite_id DESC LIMIT ?", (A, S, 20),
        "account_favourites_by_cursor"),
    "viewer favourites set": (
        st.VIEWER_FAVOURITES_SET, (A, 5001), ("account_favourites_pkey", "account_favourites_by_cursor")),
    "viewer favourites, newest first": (
        "SELECT status_id AS id FROM account_favourites WHERE account_id = ? AND status_id < ?"
        " ORDER BY status_id DESC LIMIT ?", (A, S, 200), "account_favourites_pkey"),
    "notifications page": (
        "SELECT * FROM notifications WHERE account_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
        (A, S, 40), "notifications_by_account"),
    "notifications page, by type": (
        "SELECT * FROM notifications WHERE account_id = ? AND id > ? AND type NOT IN (?, ?)"
        " ORDER BY id ASC LIMIT ?", (A, S, "follow", "mention", 40), "notifications_by_account"),
    "notifications from one sender": (
        "SELECT * FROM notifications WHERE account_id = ? AND from_account_id = ?"
        " ORDER BY id DESC LIMIT ?", (A, B, 40), "notifications_by_sender"),
    "notification by id": (
        "SELECT * FROM notifications WHERE account_id = ? AND id = ?", (A, S),
        ("notifications_pkey", "notifications_by_account")),
    "withdraw a follow notification": (
        "DELETE FROM notifications WHERE account_id = ? AND type = ? AND from_account_id = ?"
        " AND status_id = 0", (A, "follow", B), ("notifications_once", "notifications_by_sender")),
    "withdraw notifications about a status": (
        "DELETE FROM notifications WHERE account_id = ? AND status_id = ?", (A, S),
        "notifications_about_status"),
}


@pytest.fixture(scope="module")
def plans(pg_cluster: Cluster) -> Iterator[dict[str, str]]:
    """Each hot statement's plan on a freshly migrated schema of shard 0's primary."""
    schema = f"plans_{uuid.uuid4().hex[:12]}"

    async def explain_all() -> dict[str, str]:
        conn = await asyncpg.connect(pg_cluster.topology.dsn(pg_cluster.topology.primary(0)), timeout=10)
        try:
            await conn.execute(f"CREATE SCHEMA {schema}")
            await conn.execute(f"SET search_path TO {schema}")
            for step in (*status_tables.MIGRATIONS, *notification_tables.MIGRATIONS):
                for statement in step.statements:
                    await conn.execute(statement)
            await conn.execute("SET enable_seqscan = off")
            found = {}
            for name, (sql, params, _index) in HOT.items():
                rows = await conn.fetch("EXPLAIN " + to_dollar(sql), *params)
                found[name] = "\n".join(str(r[0]) for r in rows)
            return found
        finally:
            await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
            await conn.close()

    yield asyncio.run(explain_all())


@pytest.mark.parametrize("name", sorted(HOT))
def test_hot_query_reads_its_index(plans: dict[str, str], name: str) -> None:
    plan, wanted = plans[name], HOT[name][2]
    indexes = (wanted,) if isinstance(wanted, str) else wanted
    assert "Seq Scan" not in plan, (name, plan)
    assert any(f" using {i} on " in plan or f" on {i} " in plan for i in indexes), (name, indexes, plan)
