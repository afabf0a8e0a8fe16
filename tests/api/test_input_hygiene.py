"""Input hygiene: NUL characters are refused everywhere text comes in (422, nothing
stored), and user input never reaches SQL as a pattern (LIKE wildcards in ``tagged``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from roost.domain.entities import Identity
from roost.errors import Unprocessable
from roost.gateway.routes import TABLE

from .harness import Server, User, assert_error, running_server

NUL_ERROR = "must not contain null bytes"
OOB = "urn:ietf:wg:oauth:2.0:oob"


@dataclass
class World:
    srv: Server
    alice: User
    app_token: str
    ids: dict[str, str]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("hygiene")) as srv:
        alice = srv.quick_user("alice")
        ids = {
            "alice": alice.id,
            "status": srv.post(alice, "plain #hello_world status")["id"],
            "lookalike": srv.post(alice, "a #helloXworld status")["id"],
            "untagged": srv.post(alice, "no tags at all, 100% sure")["id"],
            "other": srv.post(alice, "another #Hello")["id"],
        }
        srv.drain()
        yield World(srv, alice, srv.app_token(), ids)


def stored_nuls(srv: Server) -> int:
    """Rows anywhere whose text columns hold a NUL character."""
    checks = (
        ("statuses", ("text", "spoiler_text", "content", "tags", "language")),
        ("accounts", ("username", "display_name", "note", "email")),
        ("applications", ("name", "website", "redirect_uris", "scopes")),
    )

    async def count() -> int:
        total = 0
        for shard in srv.container.backends.db.shards:
            for table, columns in checks:
                where = " OR ".join(f"instr(COALESCE({c}, ''), char(0)) > 0" for c in columns)
                row = await shard.fetch_one(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}")
                total += row["n"]
        return total

    return srv.call(count)  # type: ignore[no-any-return]


@pytest.fixture(autouse=True)
def nothing_stored_changes(world: World) -> Iterator[None]:
    before = world.srv.fingerprint()
    yield
    assert world.srv.fingerprint() == before
    assert stored_nuls(world.srv) == 0


# -- NUL characters ---------------------------------------------------------------------------


def _user(w: World) -> dict[str, str]:
    return w.alice.headers


def _app(w: World) -> dict[str, str]:
    return {"Authorization": f"Bearer {w.app_token}"}


def _anon(w: World) -> dict[str, str]:
    return {}


REGISTRATION = {"username": "nulman", "email": "nul@example.com", "password": "correct horse battery",
                "agreement": "1", "locale": "en"}
APP = {"client_name": "nul app", "redirect_uris": OOB, "scopes": "read"}

# (what, method, path, who, field, body or query, how it is sent)
NUL_CASES: list[tuple[str, str, str, Any, str, dict[str, Any], str]] = [
    ("status, json", "POST", "/api/v1/statuses", _user, "status", {"status": "hi\x00there"}, "json"),
    ("status, form", "POST", "/api/v1/statuses", _user, "status", {"status": "hi\x00there"}, "data"),
    ("status, trailing NUL", "POST", "/api/v1/statuses", _user, "status", {"status": "hi\x00"}, "json"),
    ("spoiler_text", "POST", "/api/v1/statuses", _user, "spoiler_text",
     {"status": "fine", "spoiler_text": "cw\x00"}, "json"),
    ("display_name", "PATCH", "/api/v1/accounts/update_credentials", _user, "display_name",
     {"display_name": "Al\x00ice"}, "data"),
    ("display_name, json", "PATCH", "/api/v1/accounts/update_credentials", _user, "display_name",
     {"display_name": "\x00"}, "json"),
    ("note", "PATCH", "/api/v1/accounts/update_credentials", _user, "note", {"note": "bio\x00"}, "data"),
    ("app name", "POST", "/api/v1/apps", _anon, "client_name", {**APP, "client_name": "n\x00"}, "data"),
    ("app website", "POST", "/api/v1/apps", _anon, "website",
     {**APP, "website": "https://example.com/\x00"}, "data"),
    ("app redirect uri", "POST", "/api/v1/apps", _anon, "redirect_uris",
     {**APP, "redirect_uris": "https://example.com/cb\x00"}, "data"),
    ("app redirect uri list", "POST", "/api/v1/apps", _anon, "redirect_uris",
     {**APP, "redirect_uris": [OOB, "https://example.com/\x00"]}, "json"),
    ("username", "POST", "/api/v1/accounts", _app, "username",
     {**REGISTRATION, "username": "nul\x00man"}, "data"),
    ("e-mail", "POST", "/api/v1/accounts", _app, "email",
     {**REGISTRATION, "email": "nul\x00@example.com"}, "json"),
    ("search q", "GET", "/api/v2/search", _user, "q", {"q": "hello\x00"}, "params"),
    ("search q, anonymous", "GET", "/api/v2/search", _anon, "q", {"q": "\x00"}, "params"),
    ("lookup acct", "GET", "/api/v1/accounts/lookup", _anon, "acct", {"acct": "alice\x00"}, "params"),
    ("tagged", "GET", "/api/v1/accounts/{alice}/statuses", _anon, "tagged", {"tagged": "hello\x00"}, "params"),
]


@pytest.mark.parametrize("case", NUL_CASES, ids=[c[0] for c in NUL_CASES])
def test_nul_is_refused(world: World, case: tuple[str, str, str, Any, str, dict[str, Any], str]) -> None:
    _what, method, path, who, field, values, how = case
    r = world.srv.client.request(method, path.format(**world.ids), headers=who(world), **{how: values})
    body = assert_error(r, 422)
    assert body["error"] == f"Validation failed: {field} {NUL_ERROR}", body


def test_the_same_requests_without_nul_succeed(world: World) -> None:
    """The NUL is what is refused: the same update without it goes through (then is undone)."""
    h = world.alice.headers
    r = world.srv.client.patch("/api/v1/accounts/update_credentials", headers=h, data={"note": "bio"})
    assert r.status_code == 200 and r.json()["source"]["note"] == "bio"
    r = world.srv.client.patch("/api/v1/accounts/update_credentials", headers=h, data={"note": ""})
    assert r.status_code == 200


STRING_PARAMS = [
    (e, p) for e in TABLE.endpoints for p in e.params
    if p.where != "path" and p.kind in ("string", "array")
]


@pytest.mark.parametrize(("e", "param"), STRING_PARAMS,
                         ids=[f"{e.method} {e.path} {p.name}" for e, p in STRING_PARAMS])
def test_no_route_stores_or_crashes_on_nul(world: World, e: Any, param: Any) -> None:
    """Every documented text parameter of every route, alone: never a 5xx, never stored."""
    headers = {"user": _user, "optional": _user, "app": _app, "none": _anon}[e.auth](world)
    path = e.path.replace("{id}", world.ids["status"] if "/statuses/" in e.path else world.ids["alice"])
    value: Any = ["ok", "x\x00y"] if param.kind == "array" else "x\x00y"
    if param.where == "query" or e.method == "GET":
        r = world.srv.client.request(e.method, path, headers=headers, params={param.name: value})
    else:
        r = world.srv.client.request(e.method, path, headers=headers, json={param.name: value})
    assert r.status_code < 500, (r.status_code, r.text[:300])


def test_services_refuse_nul_without_the_gateway(world: World) -> None:
    """The domain-level guard: a caller that is not the HTTP edge (the CLI, a worker) is
    refused too."""
    c = world.srv.container
    alice = Identity(token="t", account_id=int(world.alice.id), application_id=0, scopes=frozenset())
    attempts = [
        lambda: c.statuses.create(alice, "a\x00b"),
        lambda: c.statuses.create(alice, "fine", spoiler_text="\x00"),
        lambda: c.statuses.create(alice, "fine", idempotency_key="k\x00"),
        lambda: c.accounts.update_credentials(int(world.alice.id), display_name="a\x00"),
        lambda: c.accounts.update_credentials(int(world.alice.id), note="\x00"),
        lambda: c.accounts.register("nul\x00b", "nulb@example.com", password_hash="$x$"),
        lambda: c.oauth.create_app("n\x00", [OOB], "read", None),
    ]
    for attempt in attempts:
        with pytest.raises(Unprocessable, match=NUL_ERROR):
            world.srv.call(attempt)


# -- LIKE wildcards in tagged --------------------------------------------------------------------


def tagged(world: World, tag: str, who: User | None = None) -> set[str]:
    r = world.srv.client.get(f"/api/v1/accounts/{world.alice.id}/statuses", params={"tagged": tag},
                             headers=who.headers if who else {})
    assert r.status_code == 200, r.text
    names = {v: k for k, v in world.ids.items()}
    return {names.get(s["id"], s["id"]) for s in r.json()}


@pytest.mark.parametrize("pattern", ["%", "%%", "_", "%_%", "\\", "\\%", "hello%", "%world", "hello_world%", "*"])
def test_wildcards_in_tagged_match_nothing(world: World, pattern: str) -> None:
    assert tagged(world, pattern) == set()
    assert tagged(world, pattern, world.alice) == set()


def test_tag_with_an_underscore_matches_exactly(world: World) -> None:
    assert tagged(world, "hello_world") == {"status"}
    assert tagged(world, "#Hello_World") == {"status"}  # case and a leading # do not matter
    assert tagged(world, "helloXworld") == {"lookalike"}
    assert tagged(world, "hello") == {"other"}
    assert tagged(world, "hello world") == set()  # two tags side by side are not one tag
    assert tagged(world, "world") == set()


def test_empty_tagged_is_no_filter(world: World) -> None:
    assert tagged(world, "") == {"status", "lookalike", "untagged", "other"}
