"""The accounts area's PostgreSQL schema (adapters/postgres/migrations/accounts.py, outbox.py)
serves every hot query of its repositories (adapters/sql/) from an index.

The repositories run their own statements (recorded as the driver sends them) against a
database where sequential scans are off (``ALTER DATABASE ... SET enable_seqscan = off``):
the planner then scans a table only when no index can answer. Each statement's plan must
scan no table, and each hot statement must use the index made for it (a full walk of
another index would not show as a table scan).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from roost.adapters.postgres.database import PgDatabase, open_postgres
from roost.adapters.postgres.migrations import ALL
from roost.adapters.postgres.repositories import open_repositories
from roost.cluster.topology import Topology
from roost.domain.entities import Application, Token
from roost.domain.ids import IdGenerator
from roost.domain.pagination import Page
from roost.ports.accounts import AuthorizationCode, FollowOptions, NewAccount
from roost.ports.repositories import Repositories
from roost.settings import Settings

from .conftest import Cluster

DATABASE = "accounts_schema"
# What each hot statement must be answered from (a statement text fragment -> its index).
EXPECTED_INDEX = {
    "FROM accounts WHERE id IN": "accounts_pkey",
    "WHERE username_lower >=": "accounts_username_lower",
    "WHERE display_name_lower >=": "accounts_display_name_lower",
    "FROM account_directory WHERE kind": "account_directory_pkey",
    "FROM following WHERE account_id = $1 AND target_id": "following_pkey",
    "SELECT follow_id AS cursor, target_id AS other FROM following": "following_by_cursor",
    "SELECT follow_id AS cursor, follower_id AS other FROM followers": "followers_by_cursor",
    "SELECT follower_id, follow_id FROM followers": "followers_by_cursor",
    "FROM followers WHERE account_id = $1 AND follower_id": "followers_pkey",
    "FROM follow_requests WHERE account_id = $1 ORDER BY request_id": "follow_requests_by_cursor",
    "DELETE FROM follow_requests WHERE requester_id": "follow_requests_by_requester",
    "FROM application_ids WHERE id": "application_ids_pkey",
    "FROM tokens WHERE account_id": "tokens_by_account",
    "FROM tokens WHERE token": "tokens_pkey",
    "FROM authorization_codes WHERE code": "authorization_codes_pkey",
    "FROM outbox ORDER BY id": "outbox_pkey",
    "DELETE FROM outbox WHERE id IN": "outbox_pkey",
}


@pytest.fixture(scope="module")
def schema(pg_cluster: Cluster) -> Iterator[Topology]:
    """A database of its own on every primary (no replicas: their statistics are their
    own), migrated, sequential scans off."""
    layout = pg_cluster.topology
    primaries = tuple(layout.primary(shard) for shard in layout.shards)
    for node in primaries:
        pg_cluster.sql(node, f"CREATE DATABASE {DATABASE}")
        pg_cluster.sql(node, f"ALTER DATABASE {DATABASE} SET enable_seqscan = off")
    topology = replace(layout, nodes=primaries, postgres=replace(
        layout.postgres, database=DATABASE, passfile=str(layout.passfile_path.resolve())))
    async def migrate() -> None:
        db = await _open(topology)
        try:
            await db.migrate(ALL)
        finally:
            await db.close()

    asyncio.run(migrate())
    try:
        yield topology
    finally:
        for node in primaries:
            pg_cluster.sql(node, f"DROP DATABASE {DATABASE} WITH (FORCE)")


async def _open(topology: Topology) -> PgDatabase:
    return await open_postgres(Settings(logical_shards=64, pg_pool_min_size=1, pg_pool_max_size=2), topology)


async def _hot_queries(repos: Repositories, db: PgDatabase) -> None:
    ids = IdGenerator()

    def on(physical: int) -> int:
        return ids.next_id(db.shard_map.logical_shards_on(physical)[0])

    alice, bob, carol = on(0), on(1), on(0)
    for n, account_id in enumerate((alice, bob, carol)):
        await repos.accounts.insert(NewAccount(account_id, f"user{n}", f"u{n}@example.org", "h", f"User {n}", 1))
    await repos.accounts.get_many([alice, bob, carol])
    await repos.accounts.password_hash(alice)
    await repos.accounts.is_indexable(bob)
    await repos.accounts.prefix_matches("use", 5)
    async with db.for_id(alice).transaction() as tx:
        await repos.accounts.add_to_counter(tx, alice, "followers_count", 1)
    assert await repos.keys.claim("username", "user0", alice)
    await repos.keys.claim_many([("email", "u1@example.org", bob)])
    await repos.keys.lookup("username", "user0")
    await repos.keys.release("username", "user0")

    options = FollowOptions(show_reblogs=True, notify=False)
    follow_id = on(0)
    async with db.for_id(alice).transaction() as tx:
        await repos.follows.add_following(tx, alice, bob, follow_id, options)
        await repos.follows.add_following(tx, alice, bob, follow_id, options)  # the update path
    async with db.for_id(bob).transaction() as tx:
        await repos.follows.add_follower(tx, bob, alice, follow_id)
    await repos.follows.following_options(alice)
    await repos.follows.followers_among(bob, [alice, carol])
    async for _batch in repos.follows.follower_batches(bob, 10):
        pass
    for direction in ("followers", "following"):
        await repos.follows.page(bob if direction == "followers" else alice, direction, Page(limit=5))
    await repos.follows.page(bob, "followers", Page(limit=5, min_id=1))
    async with db.for_id(alice).transaction() as tx:
        await repos.follows.remove_following(tx, alice, bob)
    async with db.for_id(bob).transaction() as tx:
        await repos.follows.remove_follower(tx, bob, alice)

    async with db.for_id(bob).transaction() as tx:
        await repos.follow_requests.put(tx, bob, carol, on(1), options)
        await repos.follow_requests.put(tx, bob, carol, on(1), options)
    await repos.follow_requests.options(bob, carol)
    await repos.follow_requests.oldest_requesters(bob, 5)
    await repos.follow_requests.page(bob, Page(limit=5))
    await repos.follow_requests.count(bob)
    await repos.follow_requests.requesters_among(bob, [carol])
    await repos.follow_requests.requested_among(carol, [bob, alice])
    await repos.follow_requests.remove_all_from(carol)

    app = Application(on(1), "app", None, ("urn:ietf:wg:oauth:2.0:oob",), ("read",), "client-1", "secret")
    await repos.oauth.insert_app(app, 1)
    await repos.oauth.app_by_client_id("client-1")
    await repos.oauth.app_by_id(app.id)
    await repos.oauth.insert_token(Token("token-1", app.id, alice, ("read",), 1))
    await repos.oauth.token("token-1")
    await repos.oauth.delete_tokens_of(alice)
    await repos.oauth.insert_code(AuthorizationCode("code-1", app.id, alice, ("read",), "urn:x", 10))
    await repos.oauth.code("code-1")
    assert await repos.oauth.consume_code("code-1")

    for shard in range(len(db.shards)):
        async with db.shards[shard].transaction() as tx:
            await repos.outbox.stage(tx, alice, {"type": "t"})
        events = await repos.outbox.pending(shard, 10)
        await repos.outbox.mark_relayed(shard, [e.id for e in events])


def test_every_hot_query_of_the_accounts_area_is_answered_from_its_index(
        schema: Topology, monkeypatch: pytest.MonkeyPatch) -> None:
    sent: dict[str, tuple[Any, ...]] = {}
    for method in ("fetch", "fetchrow", "execute"):
        original = getattr(asyncpg.connection.Connection, method)

        async def recording(self: Any, query: str, *args: Any, _original: Any = original, **kw: Any) -> Any:
            if query.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")) and "$" in query:
                sent.setdefault(query, args)
            return await _original(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.connection.Connection, method, recording)

    async def main() -> dict[str, str]:
        db = await _open(schema)
        try:
            await _hot_queries(open_repositories(db), db)
            monkeypatch.undo()
            plans: dict[str, str] = {}
            async with db.shards[0].primary.pool.acquire() as conn:
                for query, args in sent.items():
                    plans[query] = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query, *args))
            return plans
        finally:
            await db.close()

    plans = asyncio.run(main())
    scanned = {query: plan for query, plan in plans.items() if "Seq Scan" in plan}
    assert scanned == {}, "statements that scan a table"
    for fragment, index in EXPECTED_INDEX.items():
        matching = {query: plan for query, plan in plans.items() if fragment in query}
        assert matching, f"no statement sent containing {fragment!r}"
        for query, plan in matching.items():
            assert re.search(rf"(using|Bitmap Index Scan on) {index}\b", plan), f"{query}\n{plan}"
