"""Each hot query of the statuses area and of notifications has its index on PostgreSQL.

The PostgreSQL migrations of both areas are applied in a schema of their own on a real
primary; with sequential scans priced out (``enable_seqscan = off``) the planner takes an
index wherever one can answer the query, so a plan that still reads the table sequentially,
or answers through some other index than the one named for the query, shows a missing or
unusable index. The statements are the repositories' own constants where they are fixed, and
copies of what they build otherwise (as in tests/api/test_query_plans.py for SQLite). A
second test runs every method of the repositories and checks each statement they really sent.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.migrations import notifications as notification_tables
from roost.adapters.postgres.migrations import statuses as status_tables
from roost.adapters.postgres.repositories import open_repositories
from roost.adapters.postgres.sql import to_dollar
from roost.adapters.sql import statuses as st
from roost.cluster.topology import Topology
from roost.domain.entities import Application, Notification, Status
from roost.domain.ids import IdGenerator
from roost.domain.pagination import Page
from roost.ports.repositories import Repositories
from roost.ports.statuses import AccountFilter

from .conftest import Cluster
from .sent_statements import plans_of, record_sent
from .test_accounts_schema import _open, schema

__all__ = ["schema"]  # the migrated database with sequential scans off, as a fixture here too

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


# -- every statement the repositories send ------------------------------------------------------


async def no_apps(app_id: int) -> Application | None:
    return None


async def _every_method(repos: Repositories, db: PgDatabase) -> None:
    """Each method of the statuses area's and the notifications repositories, once or in each
    of its shapes (page bounds, filters), with rows to find."""
    ids = IdGenerator()

    def on(physical: int) -> int:
        return ids.next_id(db.shard_map.logical_shards_on(physical)[0])

    alice, bob = on(0), on(1)
    statuses, reblogs, favourites, links = repos.statuses, repos.reblogs, repos.favourites, repos.thread_links
    post = Status(id=on(0), account_id=alice, text="hi #tag", content="<p>hi</p>", tags=("tag",),
                  mention_ids=(bob,), created_at_ms=1)
    wrapper = Status(id=on(0), account_id=alice, text="", content="", reblog_of_id=post.id, created_at_ms=2)
    async with db.for_id(alice).transaction() as tx:
        await statuses.claim_idempotency_key(tx, alice, "key", post.id, 1, 0)
        await statuses.claim_idempotency_key(tx, alice, "key", post.id, 1, 0)  # held: the take-over check
        await statuses.insert(tx, post, None)
        await statuses.insert(tx, wrapper, None)
        await statuses.insert(tx, Status(id=on(0), account_id=alice, text="", content="",
                                         reblog_of_id=post.id, created_at_ms=3), None)  # refused
        await links.link(tx, post.id, wrapper.id)
        await reblogs.link(tx, post.id, alice, wrapper.id)
        await favourites.add(tx, post.id, alice, on(0))
        await favourites.record_account_side(tx, alice, post.id, on(0))
    await statuses.get_many([post.id, wrapper.id], no_apps)
    await statuses.idempotent_status_id(alice, "key", 0)
    await statuses.reblog_of(alice, post.id)
    await statuses.oldest_ids_by(alice, 10)
    await statuses.recent_ids(alice, 10)
    for below in (None, post.id):
        await statuses.public_ids_by(alice, below, 10)
    await statuses.reblogged_ids(alice, post.id + 1, post.id - 1, 10)
    await statuses.viewer_sets(alice, 10)
    await statuses.viewer_flags(alice, [post.id, wrapper.id])
    for page in (Page(limit=5), Page(limit=5, max_id=wrapper.id, since_id=1), Page(limit=5, min_id=1)):
        for only in (AccountFilter(), AccountFilter(("public", "unlisted"), mentioned=bob),
                     AccountFilter(("public",), exclude_replies=True, exclude_reblogs=True, tag="tag")):
            await statuses.account_page(alice, page, only)
        await statuses.public_page(page)
        await reblogs.page(post.id, page)
        await favourites.page(post.id, page)
        await favourites.account_page(alice, page)
    await statuses.home_pages(bob, {alice: None, bob: wrapper.id}, 10)
    await statuses.direct_mentioning(alice, bob, 10)
    await links.replies(post.id)
    await reblogs.wrappers(post.id)
    await favourites.favourite_id(post.id, alice)
    await favourites.status_ids_of(alice, post.id + 1, post.id - 1, 10)
    async with db.for_id(alice).transaction() as tx:
        await favourites.forget_account_side(tx, alice, post.id)
        await favourites.remove(tx, post.id, alice)
        await reblogs.unlink(tx, post.id, alice, wrapper.id)
        await links.unlink(tx, post.id, wrapper.id)
        await statuses.delete(tx, wrapper.id)

    notifications = repos.notifications
    mention = Notification(on(1), bob, "mention", alice, post.id, 1)
    async with db.for_id(bob).transaction() as tx:
        await notifications.add(tx, mention)
        await notifications.add(tx, Notification(on(1), bob, "follow", alice, None, 2))
    await notifications.get(bob, mention.id)
    for page in (Page(limit=5), Page(limit=5, max_id=mention.id + 1, min_id=1)):
        await notifications.page(bob, page)
        await notifications.page(bob, page, types=["mention"], exclude_types=["follow"], from_account_id=alice)
    async with db.for_id(bob).transaction() as tx:
        await notifications.remove_from(tx, bob, "follow", alice)
        await notifications.remove_about_status(tx, bob, post.id)
        await notifications.remove(tx, bob, mention.id)
        await notifications.clear(tx, bob)


def test_no_statement_of_the_statuses_area_or_notifications_scans_a_table(
        schema: Topology, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the repositories really send (recorded at the driver), not copies of it. Which
    index answers each hot statement is checked above; on near-empty tables the planner's
    choice among usable indexes (and sort or not) says little, so this checks only that no
    statement reads a whole table or walks a whole index."""
    sent = record_sent(monkeypatch)

    async def main() -> dict[str, str]:
        db = await _open(schema)
        try:
            await _every_method(open_repositories(db), db)
            monkeypatch.undo()
            return await plans_of(db, sent)
        finally:
            await db.close()

    plans = asyncio.run(main())
    area = ("statuses", "status_replies", "reblogs", "favourites", "account_favourites",
            "idempotency_keys", "notifications")
    ours = {q: p for q, p in plans.items() if any(f" {table} " in f"{q} " for table in area)}
    assert len(ours) > 40, f"too few statements recorded: {len(ours)}"
    scanned = {query: plan for query, plan in ours.items() if "Seq Scan" in plan}
    assert scanned == {}, "statements that scan a table"
    walked = {query: plan for query, plan in ours.items() if whole_index_walks(plan)}
    assert walked == {}, "statements that walk a whole index"


# Indexes made to be read from one end (the public timeline's newest page has no bound).
READ_FROM_AN_END = frozenset({"statuses_public"})
_INDEX_SCAN = re.compile(r"Index (?:Only )?Scan(?: Backward)? using (\w+)")


def whole_index_walks(plan: str) -> list[str]:
    """The indexes a plan scans without any condition on them (with sequential scans off,
    a missing index shows as a walk of some other one, the primary key's say), apart from
    those made to be read from an end."""
    lines = plan.splitlines()
    walks = []
    for n, line in enumerate(lines):
        match = _INDEX_SCAN.search(line)
        if match is None or match.group(1) in READ_FROM_AN_END:
            continue
        details = []
        for later in lines[n + 1:]:
            if "->" in later:
                break
            details.append(later)
        if not any("Index Cond:" in d for d in details):
            walks.append(match.group(1))
    return walks


def test_whole_index_walk_detector() -> None:
    assert whole_index_walks("Limit\n  ->  Index Scan Backward using notifications_pkey on notifications\n"
                             "        Filter: (account_id = 1)") == ["notifications_pkey"]
    assert not whole_index_walks("Index Scan using notifications_by_account on notifications\n"
                                 "  Index Cond: (account_id = 1)\n  Filter: (type = 'x')")
    assert not whole_index_walks("Limit\n  ->  Index Only Scan Backward using statuses_public on statuses")
