"""Every query the services run uses an index (EXPLAIN QUERY PLAN shows no full scan).

Two complementary checks:

* the SQL actually executed while a broad API workload runs is captured with
  sqlite3's trace callback, and every distinct SELECT/UPDATE/DELETE is explained
  on the connection that ran it: new queries are covered without editing this file;
* a named list of the hot queries is explained on a freshly migrated database (the
  statements the repositories hold as constants are imported from their adapter
  modules, e.g. ``adapters/sql/statuses.py``; the rest are copies of
  the statements the adapters build), and the capture must have seen each hot
  query family.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from roost.adapters.embedded.database import SqliteDatabase
from roost.adapters.sql import statuses as st
from roost.domain.shards import ShardMap
from roost.runtime.backends import MIGRATIONS

from .harness import Server, running_server

# A statement whose plan walks a whole table (or a whole index with no LIMIT to stop it).
_SCAN_RE = re.compile(r"^SCAN (\S+)(.*)$")
_SHADOW_FTS_RE = re.compile(r"statuses_fts_(data|idx|content|docsize|config)", re.I)

# Allowed full scans, by a regex over the statement, with the reason.
WHITELIST: dict[str, str] = {
    r"FROM outbox ORDER BY id LIMIT":
        "outbox relay: reads the head of a queue table in rowid order with a LIMIT; rows are"
        " deleted once relayed, so the table holds only in-flight events",
    r"^SELECT COUNT\(\*\) AS n FROM accounts$":
        "instance user count (GET /api/v1/instance, nodeinfo): a COUNT over the smallest index,"
        " not a per-request hot path",
    r"FROM accounts ORDER BY id$":
        "admin `roost accounts list` (AccountsService.list_all)",
}


def normalise(sql: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"'(?:[^']|'')*'|\b\d+\b", "?", sql)).strip()


def full_scans(plan: list[str], sql: str) -> list[str]:
    """The plan lines that read a whole table (or a whole index without a LIMIT)."""
    bad = []
    has_limit = re.search(r"\bLIMIT\b", sql, re.I) is not None
    # A subquery in FROM is aliased (PostgreSQL requires it); SQLite names its scan by the alias.
    subqueries = set(re.findall(r"\)\s+AS\s+(\w+)", sql, re.I))
    for line in plan:
        match = _SCAN_RE.match(line.strip())
        if match is None:
            continue
        table, rest = match.groups()
        if table == "CONSTANT" or table in subqueries or line.strip().startswith("SCAN (subquery"):
            # Reading back a subquery's own (already bounded) result is not a table scan.
            continue
        if "VIRTUAL TABLE INDEX" in rest:
            # FTS5: idxStr names the constraint used (M = MATCH, = = rowid); empty means a full scan.
            if re.search(r"INDEX \d+:\S", rest):
                continue
            bad.append(line)
        elif "USING" in rest and "INDEX" in rest:
            # An ordered index walk is fine when a LIMIT stops it early.
            if has_limit and not any("TEMP B-TREE" in p for p in plan):
                continue
            bad.append(line)
        else:
            bad.append(line)
    return bad


def whitelisted(sql: str) -> str | None:
    for pattern, reason in WHITELIST.items():
        if re.search(pattern, normalise(sql)):
            return reason
    return None


# -- capture during an API workload ----------------------------------------------------------


class Capture:
    def __init__(self, srv: Server) -> None:
        self.srv = srv
        backends = srv.container.backends
        self.connections: dict[str, sqlite3.Connection] = {
            f"shard-{s.index}": s._conn_ for s in backends.db.shards
        }
        # The log and timeline store are SQLite files too (not behind the database port).
        for name, owner in (("log", backends.log), ("timelines", backends.timelines)):
            conn = getattr(owner, "_conn", None)
            if isinstance(conn, sqlite3.Connection):
                self.connections[name] = conn
        self.statements: dict[str, tuple[str, str]] = {}  # normalised -> (connection, sql)

    def _record(self, name: str) -> Any:
        def trace(sql: str) -> None:
            self.statements.setdefault(normalise(sql), (name, sql))

        return trace

    def start(self) -> None:
        def attach() -> None:
            for name, conn in self.connections.items():
                conn.set_trace_callback(self._record(name))

        self.srv.call(attach)

    def stop(self) -> None:
        def detach() -> None:
            for conn in self.connections.values():
                conn.set_trace_callback(None)

        self.srv.call(detach)

    def explain(self, name: str, sql: str) -> list[str]:
        conn = self.connections[name]

        def run() -> list[str]:
            return [str(r[3]) for r in conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()]

        return self.srv.call(run)  # type: ignore[no-any-return]


def workload(srv: Server) -> None:
    """Touch every route and every service path that reads or changes stored data."""
    c = srv.client
    alice = srv.register("qp_alice")  # registration, directory claims, argon2
    login = c.post("/oauth/token", data={
        "grant_type": "password", "client_id": srv.client_id, "client_secret": srv.client_secret,
        "username": "qp_alice@example.com", "password": "correct horse battery", "scope": "read write",
    })
    assert login.status_code == 200, login.text
    users = [srv.quick_user(f"qp_user{i}") for i in range(5)]
    bob, carol, dave = users[0], users[1], users[2]
    for u in users:
        srv.follow(u, alice)  # alice crosses the celebrity threshold (3) on the way
    srv.follow(alice, bob)
    srv.follow(bob, carol)
    srv.follow(carol, bob)
    first = srv.post(alice, "hello #plans @qp_user0 https://example.com", language="en")
    srv.post(alice, "followers only", visibility="private")
    srv.post(alice, "direct to @qp_user1", visibility="direct")
    srv.post(alice, "unlisted words", visibility="unlisted")
    r = c.post("/api/v1/statuses", headers={**bob.headers, "Idempotency-Key": "k1"},
               json={"status": "reply", "in_reply_to_id": first["id"]})
    assert r.status_code == 200
    reply = r.json()
    c.post("/api/v1/statuses", headers={**bob.headers, "Idempotency-Key": "k1"}, json={"status": "reply"})
    srv.post(carol, "deeper", in_reply_to_id=reply["id"])
    for u in (bob, carol, dave):
        assert c.post(f"/api/v1/statuses/{first['id']}/favourite", headers=u.headers).status_code == 200
        assert c.post(f"/api/v1/statuses/{first['id']}/reblog", headers=u.headers).status_code == 200
    c.post(f"/api/v1/statuses/{first['id']}/unfavourite", headers=dave.headers)
    c.post(f"/api/v1/statuses/{first['id']}/unreblog", headers=dave.headers)
    srv.drain()
    gets = [
        ("/api/v1/timelines/home", bob, {}),
        ("/api/v1/timelines/home", bob, {"max_id": first["id"]}),
        ("/api/v1/timelines/home", bob, {"min_id": "1", "limit": "2"}),
        ("/api/v1/timelines/home", users[4], {}),  # cold: rebuilt from the database
        ("/api/v1/timelines/public", None, {}),
        ("/api/v1/timelines/public", bob, {"max_id": first["id"], "since_id": "1"}),
        ("/api/v1/timelines/public", bob, {"min_id": "1"}),
        (f"/api/v1/accounts/{alice.id}/statuses", None, {}),
        (f"/api/v1/accounts/{alice.id}/statuses", bob, {"exclude_replies": "1", "exclude_reblogs": "1"}),
        (f"/api/v1/accounts/{alice.id}/statuses", dave, {"min_id": "1", "limit": "1"}),
        (f"/api/v1/accounts/{alice.id}/followers", None, {"limit": "2"}),
        (f"/api/v1/accounts/{alice.id}/followers", None, {"min_id": "1"}),
        (f"/api/v1/accounts/{bob.id}/following", None, {"max_id": "9223372036854775807"}),
        (f"/api/v1/accounts/{alice.id}", None, {}),
        ("/api/v1/accounts/lookup", None, {"acct": "qp_user0"}),
        ("/api/v1/accounts/relationships", alice, {"id[]": [bob.id, carol.id]}),
        ("/api/v1/accounts/verify_credentials", alice, {}),
        ("/api/v1/notifications", alice, {}),
        ("/api/v1/notifications", alice, {"types[]": ["favourite", "reblog"], "limit": "1"}),
        ("/api/v1/notifications", alice, {"exclude_types[]": ["follow"], "min_id": "1"}),
        ("/api/v1/notifications", alice, {"account_id": bob.id}),
        ("/api/v1/favourites", bob, {}),
        ("/api/v1/favourites", bob, {"min_id": "1"}),
        (f"/api/v1/statuses/{first['id']}", bob, {}),
        (f"/api/v1/statuses/{first['id']}/context", None, {}),
        (f"/api/v1/statuses/{reply['id']}/context", bob, {}),
        (f"/api/v1/statuses/{first['id']}/favourited_by", None, {"limit": "1"}),
        (f"/api/v1/statuses/{first['id']}/reblogged_by", None, {"since_id": "1"}),
        ("/api/v2/search", bob, {"q": "hello plans"}),
        ("/api/v2/search", None, {"q": "qp_us", "type": "accounts"}),
        ("/api/v2/search", bob, {"q": "words", "type": "statuses", "max_id": "9223372036854775807"}),
        ("/api/v2/search", bob, {"q": "hello", "type": "statuses", "account_id": alice.id, "min_id": "1"}),
        ("/api/v2/search", dave, {"q": "hello", "type": "statuses", "offset": "1"}),
        (f"/api/v1/accounts/{alice.id}/statuses", bob, {"tagged": "plans"}),
        ("/api/v1/apps/verify_credentials", alice, {}),
        ("/api/v1/instance", None, {}),
        ("/nodeinfo/2.0", None, {}),
        ("/ready", None, {}),
    ]
    for path, user, params in gets:
        r = c.get(path, headers=user.headers if user else {}, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text)
    notes = srv.get("/api/v1/notifications", alice)
    assert notes, "the workload should have produced notifications"
    assert c.get(f"/api/v1/notifications/{notes[0]['id']}", headers=alice.headers).status_code == 200
    assert c.post(f"/api/v1/notifications/{notes[0]['id']}/dismiss", headers=alice.headers).status_code == 200
    assert c.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                   data={"display_name": "Alice", "note": "hi"}).status_code == 200
    for indexable in ("true", "false"):  # search re-marks her public statuses each time
        assert c.patch("/api/v1/accounts/update_credentials", headers=alice.headers,
                       data={"indexable": indexable}).status_code == 200
        srv.drain()
    assert c.post(f"/api/v1/accounts/{carol.id}/unfollow", headers=bob.headers).status_code == 200
    assert c.delete(f"/api/v1/statuses/{reply['id']}", headers=bob.headers).status_code == 200
    # The authorization-code flow and revocation.
    page = c.post("/oauth/authorize", data={
        "client_id": srv.client_id, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
        "username": "qp_alice", "password": "correct horse battery", "scope": "read",
    })
    code = re.search(r"<code>([^<]+)</code>", page.text)
    assert code is not None, page.text
    token = c.post("/oauth/token", data={
        "grant_type": "authorization_code", "code": code.group(1), "client_id": srv.client_id,
        "client_secret": srv.client_secret, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
    })
    assert token.status_code == 200, token.text
    assert c.post("/oauth/revoke", data={"client_id": srv.client_id, "client_secret": srv.client_secret,
                                        "token": token.json()["access_token"]}).status_code == 200
    assert c.post("/api/v1/notifications/clear", headers=alice.headers).status_code == 200
    # Follow requests: dave locks, three ask, one is approved, one rejected, then dave unlocks.
    assert c.patch("/api/v1/accounts/update_credentials", headers=dave.headers,
                   data={"locked": "true"}).status_code == 200
    for u in (bob, users[3], users[4]):
        assert c.post(f"/api/v1/accounts/{dave.id}/follow", headers=u.headers).status_code == 200
    assert c.get("/api/v1/follow_requests", headers=dave.headers, params={"limit": "1"}).status_code == 200
    assert c.get("/api/v1/follow_requests", headers=dave.headers, params={"min_id": "1"}).status_code == 200
    assert c.get("/api/v1/accounts/relationships", headers=dave.headers,
                 params={"id[]": [bob.id, users[3].id]}).status_code == 200
    assert c.post(f"/api/v1/follow_requests/{bob.id}/authorize", headers=dave.headers).status_code == 200
    assert c.post(f"/api/v1/follow_requests/{users[3].id}/reject", headers=dave.headers).status_code == 200
    assert c.patch("/api/v1/accounts/update_credentials", headers=dave.headers,
                   data={"locked": "false"}).status_code == 200
    srv.drain()
    # The admin path (`roost accounts delete`): remove an account with its statuses and edges.
    container = srv.container
    srv.call(container.statuses.delete_all_by, int(carol.id))
    srv.call(container.follows.remove_all, int(carol.id))
    srv.call(container.accounts.delete, int(carol.id))
    srv.drain()


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Capture]:
    with running_server(tmp_path_factory.mktemp("plans"), celebrity_threshold=3) as srv:
        capture = Capture(srv)
        capture.start()
        try:
            workload(srv)
        finally:
            capture.stop()
        yield capture


def _is_query(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
    if head not in ("SELECT", "UPDATE", "DELETE", "WITH", "INSERT"):
        return False
    if head == "INSERT" and not re.search(r"\bSELECT\b", sql, re.I):
        return False  # a plain INSERT ... VALUES reads nothing
    return not _SHADOW_FTS_RE.search(sql) and not sql.lstrip().startswith("--")


def test_every_captured_query_uses_an_index(captured: Capture) -> None:
    queries = {norm: v for norm, v in captured.statements.items() if _is_query(v[1])}
    assert len(queries) > 40, f"the workload ran too few distinct queries: {len(queries)}"
    offenders = []
    for _norm, (conn, sql) in sorted(queries.items()):
        scans = full_scans(captured.explain(conn, sql), sql)
        if scans and whitelisted(sql) is None:
            offenders.append(f"[{conn}] {sql}\n    -> {scans}")
    assert not offenders, "full scans:\n" + "\n".join(offenders)


# Each hot query family the services use, as a regex over the executed SQL.
HOT_FAMILIES = {
    "home rebuild per author": r"FROM statuses WHERE account_id = \d+( AND id < \d+)? AND \(visibility <> 'direct'",
    "account statuses": r"FROM statuses WHERE account_id = \d+ AND visibility IN",
    "public timeline": r"FROM statuses WHERE visibility = 'public' AND reblog_of_id IS NULL",
    "celebrity merge": r"FROM statuses WHERE account_id = \d+ AND visibility <> 'direct'",
    "followers page": r"FROM followers WHERE account_id = \d+.* ORDER BY follow_id (ASC|DESC) LIMIT",
    "following page": r"FROM following WHERE account_id = \d+.* ORDER BY follow_id (ASC|DESC) LIMIT",
    "follower batches (fanout)": r"FROM followers WHERE account_id = \d+ AND follow_id > -?\d+ ORDER BY follow_id",
    "following map": r"FROM following WHERE account_id = \d+$",
    "relationships (followed_by)": r"FROM followers WHERE account_id = \d+ AND follower_id IN",
    "viewer favourites": r"FROM account_favourites WHERE account_id = \d+",
    "viewer reblogs": r"FROM statuses WHERE account_id = \d+ AND reblog_of_id",
    "notifications list": r"FROM notifications WHERE account_id = \d+.* ORDER BY id (ASC|DESC) LIMIT",
    "notification by id": r"FROM notifications WHERE account_id = \d+ AND id = \d+",
    "token lookup": r"FROM tokens WHERE token = ",
    "directory lookup": r"FROM account_directory WHERE kind = ",
    "favourites list": r"FROM account_favourites WHERE account_id = \d+.* ORDER BY favourite_id",
    "favourited_by": r"FROM favourites WHERE status_id = \d+.* ORDER BY favourite_id",
    "reblogged_by": r"FROM reblogs WHERE status_id = \d+.* ORDER BY reblog_id",
    "statuses by id batch": r"FROM statuses WHERE id IN \(",
    "accounts by id batch": r"FROM accounts WHERE id IN \(",
    "thread descendants": r"FROM status_replies WHERE parent_id = ",
    "status full-text search": r"statuses_fts MATCH",
    "search: the viewer's favourites, newest first": (
        r"FROM account_favourites WHERE account_id = \d+.* ORDER BY status_id DESC LIMIT"),
    "search: the viewer's reblogs, newest first": (
        r"FROM statuses WHERE account_id = \d+ AND reblog_of_id IS NOT NULL.* ORDER BY reblog_of_id DESC LIMIT"),
    "search: matches among given statuses": r"statuses_fts MATCH .* AND rowid IN \(",
    "search: an account's public statuses": r"FROM statuses WHERE account_id = \d+ AND visibility = 'public'",
    "search: re-marking public statuses": r"UPDATE statuses_fts SET scope = ",
    "account prefix search": r"FROM accounts WHERE username_lower >= ",
    "idempotency key": r"FROM idempotency_keys WHERE account_id = ",
    "application by client id": r"FROM applications WHERE client_id = ",
    "tokens of an account": r"FROM tokens WHERE account_id = ",
    "follow requests page": r"FROM follow_requests WHERE account_id = \d+.* ORDER BY request_id (ASC|DESC) LIMIT",
    "relationships (requested)": r"FROM follow_requests WHERE requester_id = \d+ AND account_id IN",
    "relationships (requested_by)": r"FROM follow_requests WHERE account_id = \d+ AND requester_id IN",
    "pending request count": r"COUNT\(\*\) AS n FROM follow_requests WHERE account_id = ",
    "celebrity direct mentions (rebuild)": r"FROM statuses WHERE account_id = \d+ ORDER BY id DESC LIMIT \d+\) AS recent WHERE visibility = 'direct'",
}


@pytest.mark.parametrize("family", sorted(HOT_FAMILIES))
def test_workload_exercised_hot_query(captured: Capture, family: str) -> None:
    pattern = re.compile(HOT_FAMILIES[family], re.I)
    hits = [sql for _conn, sql in captured.statements.values() if pattern.search(" ".join(sql.split()))]
    assert hits, f"no executed query matched the {family!r} family: has its SQL changed?"
    for conn, sql in (v for v in captured.statements.values() if pattern.search(" ".join(v[1].split()))):
        assert not full_scans(captured.explain(conn, sql), sql), sql


# -- the named hot queries on a freshly migrated database -------------------------------------

A, B, S = 7_000_000_000_000_000, 7_000_000_000_000_001, 7_000_000_000_000_002
IDS = (S, S + 1, S + 2)
HOT_QUERIES: dict[str, tuple[str, tuple[Any, ...]]] = {
    "home rebuild per author": (
        "SELECT account_id, id FROM statuses WHERE account_id = ? AND (visibility <> 'direct'"
        " OR account_id = ? OR (' ' || mention_ids || ' ') LIKE ?) ORDER BY id DESC LIMIT ?",
        (A, B, "% 1 %", 400)),
    "account statuses": (
        "SELECT id FROM statuses WHERE account_id = ? AND visibility IN (?, ?) AND id < ?"
        " AND reblog_of_id IS NULL ORDER BY id DESC LIMIT ?", (A, "public", "unlisted", S, 20)),
    "account statuses, min_id": (
        "SELECT id FROM statuses WHERE account_id = ? AND visibility IN (?, ?, ?, ?) AND id > ?"
        " ORDER BY id ASC LIMIT ?", (A, "public", "unlisted", "private", "direct", S, 20)),
    "public timeline": (
        "SELECT id FROM statuses WHERE visibility = 'public' AND reblog_of_id IS NULL AND id < ?"
        " ORDER BY id DESC LIMIT ?", (S, 20)),
    "public timeline, newest": (
        "SELECT id FROM statuses WHERE visibility = 'public' AND reblog_of_id IS NULL"
        " ORDER BY id DESC LIMIT ?", (20,)),
    "celebrity merge": (st.RECENT_BY_ACCOUNT, (A, 800)),
    "celebrity direct mentions (rebuild)": (st.DIRECT_MENTIONING, (A, 800, "% 1 %")),
    "followers page": (
        "SELECT follow_id AS cursor, follower_id AS other FROM followers WHERE account_id = ?"
        " AND follow_id < ? ORDER BY follow_id DESC LIMIT ?", (A, S, 40)),
    "following page": (
        "SELECT follow_id AS cursor, target_id AS other FROM following WHERE account_id = ?"
        " AND follow_id > ? ORDER BY follow_id ASC LIMIT ?", (A, S, 40)),
    "follower batches": (
        "SELECT follower_id, follow_id FROM followers WHERE account_id = ? AND follow_id > ?"
        " ORDER BY follow_id LIMIT ?", (A, -1, 1000)),
    "following map": ("SELECT target_id, show_reblogs, notify FROM following WHERE account_id = ?", (A,)),
    "relationships": (
        "SELECT follower_id FROM followers WHERE account_id = ? AND follower_id IN (?, ?)", (A, B, S)),
    "viewer flags (per page)": (
        "SELECT 0 AS kind, status_id AS id FROM account_favourites WHERE account_id = ?"
        " AND status_id IN (?, ?, ?) UNION ALL SELECT 1 AS kind, reblog_of_id AS id FROM statuses"
        " WHERE account_id = ? AND reblog_of_id IN (?, ?, ?)", (A, *IDS, A, *IDS)),
    "viewer favourites set": (st.VIEWER_FAVOURITES_SET, (A, 5001)),
    "viewer reblogs set": (st.VIEWER_REBLOGS_SET, (A, 5001)),
    "reblog by account": (st.REBLOG_BY_ACCOUNT, (A, S)),
    "favourite by account": (st.FAVOURITE_ID, (S, A)),
    "an account's oldest statuses (account deletion)": (st.OLDEST_BY_ACCOUNT, (A, 200)),
    "claim an idempotency key": (st.CLAIM_KEY, (A, "k", S, 1, 0)),
    "take over an idempotency key whose status is gone": (st.TAKE_OVER_ORPHAN_KEY, (S, 1, A, "k")),
    "notifications list": (
        "SELECT * FROM notifications WHERE account_id = ? AND id < ? AND type IN (?, ?)"
        " ORDER BY id DESC LIMIT ?", (A, S, "mention", "favourite", 40)),
    "notifications by sender": (
        "SELECT * FROM notifications WHERE account_id = ? AND from_account_id = ?"
        " ORDER BY id DESC LIMIT ?", (A, B, 40)),
    "notification by id": ("SELECT * FROM notifications WHERE account_id = ? AND id = ?", (A, S)),
    "token lookup": ("SELECT application_id, account_id, scopes FROM tokens WHERE token = ?", ("t",)),
    "directory lookup": (
        "SELECT account_id FROM account_directory WHERE kind = ? AND key = ?", ("username", "alice")),
    "favourites list": (
        "SELECT favourite_id AS cursor, status_id AS other FROM account_favourites WHERE account_id = ?"
        " AND favourite_id < ? ORDER BY favourite_id DESC LIMIT ?", (A, S, 20)),
    "favourited_by": (
        "SELECT favourite_id AS cursor, account_id AS other FROM favourites WHERE status_id = ?"
        " ORDER BY favourite_id DESC LIMIT ?", (S, 40)),
    "reblogged_by": (
        "SELECT reblog_id AS cursor, account_id AS other FROM reblogs WHERE status_id = ?"
        " AND reblog_id > ? ORDER BY reblog_id ASC LIMIT ?", (S, A, 40)),
    "statuses by id batch": (f"SELECT {st.COLUMNS} FROM statuses WHERE id IN (?, ?, ?)", IDS),
    "accounts by id batch": ("SELECT * FROM accounts WHERE id IN (?, ?)", (A, B)),
    "thread descendants": (st.REPLIES, (S,)),
    "reblogs of a status": (st.REBLOG_WRAPPERS, (S,)),
    "idempotency key": (st.IDEMPOTENCY_KEY, (A, "k")),
    "account username prefix": (
        "SELECT id, username_lower, followers_count FROM accounts WHERE username_lower >= ?"
        " AND username_lower < ? LIMIT ?", ("al", "al\U0010ffff", 40)),
    "account display-name prefix": (
        "SELECT id, username_lower, followers_count FROM accounts WHERE display_name_lower >= ?"
        " AND display_name_lower < ? LIMIT ?", ("al", "al\U0010ffff", 40)),
    "status full-text search": (
        "SELECT rowid AS id FROM statuses_fts WHERE statuses_fts MATCH ? AND rowid < ?"
        " ORDER BY rowid DESC LIMIT ?",
        ('body : ("hello") AND (scope : "public" OR searchers : "a1" OR searchers : "m1")', S, 80)),
    "search: the viewer's favourites, newest first": (
        "SELECT status_id AS id FROM account_favourites WHERE account_id = ? AND status_id < ?"
        " ORDER BY status_id DESC LIMIT ?", (A, S, 200)),
    "search: the viewer's reblogs, newest first": (
        "SELECT reblog_of_id AS id FROM statuses WHERE account_id = ? AND reblog_of_id IS NOT NULL"
        " AND reblog_of_id > ? ORDER BY reblog_of_id DESC LIMIT ?", (A, S, 200)),
    "search: matches among given statuses": (
        "SELECT rowid AS id FROM statuses_fts WHERE statuses_fts MATCH ? AND rowid IN (?, ?, ?)",
        ('body : ("hello")', *IDS)),
    "search: an account's public statuses": (
        "SELECT id FROM statuses WHERE account_id = ? AND visibility = 'public' AND id < ?"
        " ORDER BY id DESC LIMIT ?", (A, S, 500)),
    "search: re-marking public statuses": (
        "UPDATE statuses_fts SET scope = ? WHERE rowid IN (?, ?, ?)", ("public", *IDS)),
    "account statuses, tagged": (
        "SELECT id FROM statuses WHERE account_id = ? AND visibility IN (?, ?)"
        " AND instr(' ' || tags || ' ', ?) > 0 ORDER BY id DESC LIMIT ?", (A, "public", "unlisted", " x ", 20)),
    "tokens of an account": ("SELECT token FROM tokens WHERE account_id = ?", (A,)),
    "application by id": ("SELECT client_id FROM application_ids WHERE id = ?", (S,)),
}


@pytest.fixture(scope="module")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteDatabase]:
    db = SqliteDatabase(Path(tmp_path_factory.mktemp("migrated")), ShardMap(16, 2))
    asyncio.run(db.migrate(MIGRATIONS))
    yield db
    asyncio.run(db.close())


@pytest.mark.parametrize("name", sorted(HOT_QUERIES))
def test_hot_query_uses_an_index(migrated: SqliteDatabase, name: str) -> None:
    sql, params = HOT_QUERIES[name]
    plan = asyncio.run(migrated.shards[0].explain(sql, params))
    assert not full_scans(plan, sql), (name, plan)


def test_full_scan_detector() -> None:
    assert full_scans(["SCAN statuses"], "SELECT * FROM statuses")
    assert full_scans(["SCAN accounts USING INDEX x"], "SELECT * FROM accounts ORDER BY username")
    assert not full_scans(["SCAN statuses USING COVERING INDEX statuses_public"], "... LIMIT 20")
    assert full_scans(["SCAN t USING INDEX i", "USE TEMP B-TREE FOR ORDER BY"], "... LIMIT 20")
    assert not full_scans(["SEARCH statuses USING INDEX statuses_by_account (account_id=?)"], "")
    assert not full_scans(["SCAN statuses_fts VIRTUAL TABLE INDEX 0:="], "")
    assert full_scans(["SCAN statuses_fts VIRTUAL TABLE INDEX 0:"], "")
    assert not full_scans(["SCAN CONSTANT ROW"], "")
    assert not full_scans(["SCAN recent"], "SELECT id FROM (SELECT id FROM statuses LIMIT 5) AS recent")
    assert full_scans(["SCAN statuses"], "SELECT id FROM (SELECT id FROM statuses LIMIT 5) AS recent")


# Queries that run once per follower or per status in fanout and timeline rebuilds: they
# must be answered from an index alone, without a lookup into the table per row.
COVERED = ("follower batches", "followers page", "home rebuild per author", "celebrity merge",
           "celebrity direct mentions (rebuild)")


@pytest.mark.parametrize("name", COVERED)
def test_fanout_queries_are_covered_by_their_index(migrated: SqliteDatabase, name: str) -> None:
    sql, params = HOT_QUERIES[name]
    plan = asyncio.run(migrated.shards[0].explain(sql, params))
    assert any("COVERING INDEX" in step for step in plan), (name, plan)
