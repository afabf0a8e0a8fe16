"""Contract of OAuthRepository (ports/accounts.py): apps, tokens and authorization codes."""

from __future__ import annotations

from typing import Any

from roost.domain.entities import Application, Token
from roost.ports.accounts import AuthorizationCode
from roost.services.context import Backends

from .conftest import ALL_FAMILIES, Family
from .test_accounts import new_id

# Runs on every family whose repositories of this area exist (conftest.py).
FAMILIES = ALL_FAMILIES


def an_app(b: Backends, n: int, *, website: str | None = "https://app.example") -> Application:
    return Application(
        id=new_id(b, n), name=f"app {n}", website=website,
        redirect_uris=("urn:ietf:wg:oauth:2.0:oob", f"https://app.example/cb{n}"),
        scopes=("read", "write:statuses"), client_id=f"client-{n}", client_secret=f"secret-{n}",
    )


def a_token(value: str, app_id: int, account_id: int | None) -> Token:
    return Token(value, app_id, account_id, ("read", "follow"), 1234)


def test_an_app_is_found_by_client_id_and_by_id(family: Family) -> None:
    async def work(b: Backends) -> None:
        oauth = b.repos.oauth
        apps = [an_app(b, 0), an_app(b, 1, website=None)]
        for app in apps:
            await oauth.insert_app(app, 99)
        for app in apps:
            assert await oauth.app_by_client_id(app.client_id) == app
            assert await oauth.app_by_id(app.id) == app
        assert await oauth.app_by_client_id("nobody") is None
        assert await oauth.app_by_id(new_id(b, 2)) is None

    family.run(work)


def test_tokens_are_stored_read_and_deleted(family: Family) -> None:
    async def work(b: Backends) -> None:
        oauth = b.repos.oauth
        user = new_id(b, 0)
        mine = [a_token(f"user-token-{i}", 7, user) for i in range(6)]
        app_only = a_token("app-token", 7, None)
        other = a_token("other-user", 8, new_id(b, 1))
        for token in (*mine, app_only, other):
            await oauth.insert_token(token)
        assert {b.db.shard_map.physical_for_key(t.token) for t in mine} == {0, 1}
        assert await oauth.token("user-token-0") == mine[0]
        assert await oauth.token("app-token") == app_only
        assert await oauth.token("missing") is None
        assert sorted(await oauth.delete_tokens_of(user)) == sorted(t.token for t in mine)
        assert await oauth.token("user-token-3") is None
        assert await oauth.delete_tokens_of(user) == []
        assert await oauth.token("other-user") == other
        assert await oauth.delete_token("other-user")
        assert not await oauth.delete_token("other-user")
        assert await oauth.token("app-token") == app_only

    family.run(work)


def test_a_code_keeps_its_challenge_and_is_consumed_once(family: Family) -> None:
    async def work(b: Backends) -> None:
        oauth = b.repos.oauth
        plain = AuthorizationCode("c1", 5, 6, ("read",), "urn:ietf:wg:oauth:2.0:oob", 10_000)
        pkce = AuthorizationCode("c2", 5, 6, ("read", "write"), "https://x.example/cb", 20_000, "abc", "S256")
        await oauth.insert_code(plain)
        await oauth.insert_code(pkce)
        assert await oauth.code("c1") == plain
        assert await oauth.code("c2") == pkce
        assert await oauth.code("c3") is None
        assert await oauth.consume_code("c1")
        assert not await oauth.consume_code("c1")
        assert await oauth.code("c1") is None
        assert await oauth.code("c2") == pkce

    family.run(work)


def test_apps_tokens_and_codes_survive_a_restart(family: Family) -> None:
    state: dict[str, Any] = {}

    async def write(b: Backends) -> None:
        state["app"] = app = an_app(b, 3)
        await b.repos.oauth.insert_app(app, 1)
        await b.repos.oauth.insert_token(a_token("kept", app.id, 42))
        await b.repos.oauth.insert_code(AuthorizationCode("kept-code", app.id, 42, ("read",), "urn:x", 5))

    async def read(b: Backends) -> None:
        app = state["app"]
        assert await b.repos.oauth.app_by_id(app.id) == app
        assert await b.repos.oauth.token("kept") == a_token("kept", app.id, 42)
        assert await b.repos.oauth.consume_code("kept-code")

    family.restart_run(write, read)


def test_two_processes_redeeming_one_code_only_one_gets_it(family: Family) -> None:
    codes = [f"code-{i}" for i in range(30)]

    async def setup(b: Backends) -> None:
        for code in codes:
            await b.repos.oauth.insert_code(AuthorizationCode(code, 1, 2, ("read",), "urn:x", 10**15))

    family.run(setup)

    async def redeem_all(b: Backends, n: int) -> list[bool]:
        return [await b.repos.oauth.consume_code(code) for code in codes]

    first, second = family.run_numbered(redeem_all)
    assert all(x != y for x, y in zip(first, second, strict=True)), "every code is redeemed exactly once"


def test_a_value_no_store_can_hold_is_simply_not_found(family: Family) -> None:
    """A NUL character (which PostgreSQL text cannot hold, and the services refuse in what
    they write) in a look-up finds nothing, rather than failing the request."""

    async def work(b: Backends) -> None:
        oauth = b.repos.oauth
        assert await oauth.app_by_client_id("client\x00") is None
        assert await oauth.token("tok\x00en") is None
        assert not await oauth.delete_token("tok\x00en")
        assert await oauth.code("co\x00de") is None
        assert not await oauth.consume_code("co\x00de")
        assert await b.repos.keys.lookup("username", "eve\x00") is None
        await b.repos.keys.release("username", "eve\x00")
        assert await b.repos.accounts.prefix_matches("e\x00", 5) == []

    family.run(work)
