"""Bad input on every route of the endpoint table: the right status, Mastodon's error body
(JSON with an "error" string), and nothing stored changes.

The cross-cutting checks (tokens, scopes, malformed JSON, oversized bodies, path ids, typed
parameters) iterate ``roost.gateway.routes.TABLE.endpoints``; on top of them every route
has route-specific cases in ``CASES``, and ``test_every_route_has_bad_input_cases`` fails
when a route is added without any.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from roost.gateway.endpoints import Endpoint
from roost.gateway.routes import TABLE

from .harness import Server, User, assert_error, running_server
from .shapes import Shape

MAX_BODY = 8192
INVALID_TOKEN = "The access token is invalid"
NOT_FOUND = "Record not found"
USER_REQUIRED = "This method requires an authenticated user"
ENDPOINTS = list(TABLE.endpoints)


def endpoint_id(e: Endpoint) -> str:
    return f"{e.method} {e.path}"


def is_html(e: Endpoint) -> bool:
    return e.content_type == "text/html"


@dataclass
class World:
    srv: Server
    alice: User
    bob: User
    carol: User
    tokens: dict[str, str]
    ids: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        if who == "anon":
            return {}
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shape: Shape) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("bad"), shape=shape, max_body_bytes=MAX_BODY,
                        max_auth_body_bytes=MAX_BODY) as srv:
        alice, bob, carol = srv.quick_user("alice"), srv.quick_user("bob"), srv.quick_user("carol")
        tokens = {
            "alice": alice.token,
            "bob": bob.token,
            "carol": carol.token,
            "alice_read": srv.token_for(alice.id, "read"),
            "alice_write": srv.token_for(alice.id, "write push"),
            "alice_push": srv.token_for(alice.id, "push"),
            "app": srv.app_token(),
            "app_read": srv.app_token("read push"),
        }
        revoked = srv.token_for(alice.id, "read write follow push")
        r = srv.client.post("/oauth/revoke", data={
            "client_id": srv.client_id, "client_secret": srv.client_secret, "token": revoked})
        assert r.status_code == 200
        tokens["revoked"] = revoked
        w = World(srv, alice, bob, carol, tokens)
        srv.follow(bob, alice)
        srv.follow(alice, bob)
        status = srv.post(alice, "alice's status")
        w.ids.update(
            alice=alice.id, bob=bob.id, carol=carol.id, status=status["id"],
            spare=srv.post(alice, "alice's other status")["id"],
            private=srv.post(alice, "followers only", visibility="private")["id"],
            bob_status=srv.post(bob, "bob's status @alice")["id"],
        )
        srv.drain()
        alice_notes = srv.get("/api/v1/notifications", alice)
        bob_notes = srv.get("/api/v1/notifications", bob)
        assert alice_notes and bob_notes
        w.ids.update(notification=alice_notes[0]["id"], bob_notification=bob_notes[0]["id"])
        yield w


# Tests that change stored data on purpose (and check it themselves).
MUTATES = {"test_status_of_exactly_500_characters_is_accepted"}


@pytest.fixture(autouse=True)
def nothing_stored_changes(world: World, request: pytest.FixtureRequest) -> Iterator[None]:
    if request.node.originalname in MUTATES:
        yield
        return
    before = world.srv.fingerprint()
    yield
    after = world.srv.fingerprint()
    changed = {k: (before[k], after.get(k)) for k in before if before[k] != after.get(k)}
    assert not changed, f"a rejected request changed stored data: {changed}"


def valid_path(world: World, e: Endpoint) -> str:
    """The endpoint's path with an existing id the caller (alice) may use."""
    if "{id}" not in e.path:
        return e.path
    if e.path.startswith("/api/v1/accounts/"):
        value = world.ids["bob"]
    elif e.path.startswith("/api/v1/notifications/"):
        value = world.ids["notification"]
    elif e.method == "DELETE":
        value = world.ids["spare"]
    else:
        value = world.ids["status"]
    return e.path.replace("{id}", value)


def caller(e: Endpoint) -> str:
    return {"user": "alice", "optional": "alice", "app": "app", "none": "anon"}[e.auth]


def send(world: World, method: str, path: str, who: str = "anon", **kwargs: Any) -> Any:
    headers = {**world.headers(who), **kwargs.pop("headers", {})}
    return world.srv.client.request(method, path, headers=headers, **kwargs)


def expect_error(e: Endpoint | None, response: Any, status: int, message: str | None = None) -> None:
    if e is not None and is_html(e) and response.headers.get("content-type", "").startswith("text/html"):
        assert response.status_code == status, response.text  # browser-facing login page
        return
    assert_error(response, status, message)


# -- tokens and scopes ---------------------------------------------------------------------------

AUTHENTICATED = [e for e in ENDPOINTS if e.auth in ("user", "app")]
TOKEN_AWARE = [e for e in ENDPOINTS if e.auth != "none"]
USER_ONLY = [e for e in ENDPOINTS if e.auth == "user"]
SCOPED = [e for e in ENDPOINTS if e.scope and e.auth != "none"]
WITH_BODY = [e for e in ENDPOINTS if e.method in ("POST", "PUT", "PATCH", "DELETE")]
WITH_ID = [e for e in ENDPOINTS if "{id}" in e.path]


@pytest.mark.parametrize("e", AUTHENTICATED, ids=endpoint_id)
def test_missing_token(world: World, e: Endpoint) -> None:
    expect_error(e, send(world, e.method, valid_path(world, e)), 401, INVALID_TOKEN)


@pytest.mark.parametrize("e", TOKEN_AWARE, ids=endpoint_id)
@pytest.mark.parametrize("how", ["header", "query", "revoked"])
def test_invalid_token(world: World, e: Endpoint, how: str) -> None:
    path = valid_path(world, e)
    if how == "header":
        r = send(world, e.method, path, headers={"Authorization": "Bearer not-a-real-token"})
    elif how == "query":
        r = send(world, e.method, path, params={"access_token": "not-a-real-token"})
    else:
        r = send(world, e.method, path, who="revoked")
    expect_error(e, r, 401, INVALID_TOKEN)


@pytest.mark.parametrize("e", TOKEN_AWARE, ids=endpoint_id)
@pytest.mark.parametrize(
    "header", ["Bearer", "Bearer   ", "Token abc", "Basic " + base64.b64encode(b"u:p").decode(), "abc"]
)
def test_malformed_authorization_header(world: World, e: Endpoint, header: str) -> None:
    expect_error(e, send(world, e.method, valid_path(world, e), headers={"Authorization": header}),
                 401, INVALID_TOKEN)


@pytest.mark.parametrize("path", ["/health", "/api/v1/instance", "/openapi.json"])
def test_public_routes_ignore_unrelated_authorization_headers(world: World, path: str) -> None:
    r = send(world, "GET", path, headers={"Authorization": "Basic " + base64.b64encode(b"u:p").decode()})
    assert r.status_code == 200


@pytest.mark.parametrize("e", USER_ONLY, ids=endpoint_id)
def test_app_only_token_on_user_route(world: World, e: Endpoint) -> None:
    expect_error(e, send(world, e.method, valid_path(world, e), who="app"), 422, USER_REQUIRED)


def lacking_scope(e: Endpoint) -> str:
    assert e.scope is not None
    reader = e.scope.startswith("read")
    if e.auth == "app":
        return "app_read"
    return "alice_write" if reader else "alice_read"


@pytest.mark.parametrize("e", SCOPED, ids=endpoint_id)
def test_insufficient_scope(world: World, e: Endpoint) -> None:
    expect_error(e, send(world, e.method, valid_path(world, e), who=lacking_scope(e)), 403)


@pytest.mark.parametrize("e", [e for e in SCOPED if e.auth != "app"], ids=endpoint_id)
def test_push_only_token_allows_nothing(world: World, e: Endpoint) -> None:
    expect_error(e, send(world, e.method, valid_path(world, e), who="alice_push"), 403)


def test_read_only_token_cannot_post(world: World) -> None:
    r = send(world, "POST", "/api/v1/statuses", who="alice_read", json={"status": "hi"})
    assert_error(r, 403)


# -- bodies --------------------------------------------------------------------------------------


@pytest.mark.parametrize("e", WITH_BODY, ids=endpoint_id)
@pytest.mark.parametrize("body", [b'{"status": "unterminated', b"[1, 2]", b'"a string"', b"{'single': 1}", b"\xff\xfe"])
def test_malformed_json(world: World, e: Endpoint, body: bytes) -> None:
    r = send(world, e.method, valid_path(world, e), who=caller(e), content=body,
             headers={"Content-Type": "application/json"})
    assert_error(r, 400)


@pytest.mark.parametrize("e", WITH_BODY, ids=endpoint_id)
@pytest.mark.parametrize("encoding", ["json", "form", "chunked"])
def test_body_over_the_limit(world: World, e: Endpoint, encoding: str) -> None:
    big = "x" * (MAX_BODY + 10)
    path, who = valid_path(world, e), caller(e)
    if encoding == "json":
        r = send(world, e.method, path, who=who, json={"status": big})
    elif encoding == "form":
        r = send(world, e.method, path, who=who, data={"status": big})
    else:
        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold while reading
            for _ in range(4):
                yield b'{"status": "' if _ == 0 else b"x" * (MAX_BODY // 2)

        r = send(world, e.method, path, who=who, content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(r, 413)


# -- path ids ------------------------------------------------------------------------------------


@pytest.mark.parametrize("e", WITH_ID, ids=endpoint_id)
@pytest.mark.parametrize("bad_id", ["abc", "12abc", "-1", "1.0", "0x10", "99999999999999999999", "%20"])
def test_non_numeric_path_id(world: World, e: Endpoint, bad_id: str) -> None:
    expect_error(e, send(world, e.method, e.path.replace("{id}", bad_id), who=caller(e)), 404, NOT_FOUND)


def test_superscript_digit_path_id(world: World) -> None:
    assert_error(send(world, "GET", "/api/v1/statuses/²", who="alice"), 404, NOT_FOUND)


@pytest.mark.parametrize("e", WITH_ID, ids=endpoint_id)
@pytest.mark.parametrize("unknown", ["1", "769000000000000000", "9223372036854775807"])
def test_unknown_path_id(world: World, e: Endpoint, unknown: str) -> None:
    expect_error(e, send(world, e.method, e.path.replace("{id}", unknown), who=caller(e)), 404, NOT_FOUND)


# -- typed parameters ------------------------------------------------------------------------------

# What a valid request needs besides the parameter under test.
REQUIRED: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/accounts"): {"username": "newbie", "email": "newbie@example.com",
                                   "password": "long enough password", "agreement": "true", "locale": "en"},
    ("GET", "/api/v1/accounts/lookup"): {"acct": "alice"},
    ("GET", "/api/v2/search"): {"q": "alice"},
    ("POST", "/api/v1/statuses"): {"status": "valid text"},
    ("POST", "/api/v1/apps"): {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
}
JUNK = {"integer": ["abc", "1.5", "1e3", "true"], "id": ["xyz", "-5", "1.0", "99999999999999999999"],
        "boolean": ["maybe", "2", "yes please"]}
# Declared typed parameters a handler never reads, so junk passes; each is a known defect.
# Browser-facing HTML routes: junk in optional hints is ignored by design.
HTML_EXEMPT = {("GET", "/oauth/authorize", "force_login")}


def typed_cases() -> Iterator[Any]:
    for e in ENDPOINTS:
        for p in e.params:
            if p.where == "path" or p.kind not in JUNK:
                continue
            key = (e.method, e.path, p.name)
            if key in HTML_EXEMPT:
                continue
            for junk in JUNK[p.kind]:
                yield pytest.param(e, p.name, p.where, junk, id=f"{e.method} {e.path} {p.name}={junk}")


@pytest.mark.parametrize(("e", "name", "where", "junk"), list(typed_cases()))
def test_wrong_parameter_type(world: World, e: Endpoint, name: str, where: str, junk: str) -> None:
    values = {**REQUIRED.get((e.method, e.path), {}), name: junk}
    path, who = valid_path(world, e), caller(e)
    if e.method == "GET":
        r = send(world, e.method, path, who=who, params=values)
    else:
        r = send(world, e.method, path, who=who, json=values)
    assert_error(r, 422)
    if e.method != "GET":  # the same through a form body
        assert_error(send(world, e.method, path, who=who, data=values), 422)


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", {"a": 1}), ("status", [{"b": 2}]), ("status", True), ("sensitive", "maybe"),
     ("sensitive", {"x": 1}), ("in_reply_to_id", True), ("in_reply_to_id", -1), ("in_reply_to_id", 1.5),
     ("visibility", "bogus"), ("visibility", 5), ("visibility", {"v": 1}),
     ("spoiler_text", {"a": 1}), ("language", "not a language"), ("media_ids", [{"id": 1}]),
     ("media_ids", ["123"])],
)
def test_post_status_json_types(world: World, field: str, value: Any) -> None:
    r = send(world, "POST", "/api/v1/statuses", who="alice", json={"status": "valid text", field: value})
    assert_error(r, 422)


# -- route-specific cases -----------------------------------------------------------------------


@dataclass
class Case:
    endpoint: tuple[str, str]
    what: str
    status: int
    who: str = "alice"
    path: str | None = None  # format string over World.ids; defaults to the endpoint path
    error: str | None = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    details: tuple[str, str] | None = None  # (field, code) in Mastodon's validation details
    after: tuple[str, str, str] | None = None  # (who, path, ...) must still answer 200


def C(method: str, route: str, what: str, status: int, **kw: Any) -> Case:
    return Case((method, route), what, status, **kw)


LONG = "x" * 501
CASES: list[Case] = [
    # accounts
    C("POST", "/api/v1/accounts", "agreement missing", 422, who="app",
      kwargs={"data": {**REQUIRED[("POST", "/api/v1/accounts")], "agreement": "0"}}, details=("agreement", "ERR_ACCEPTED")),
    C("POST", "/api/v1/accounts", "username missing", 422, who="app",
      kwargs={"data": {"email": "x@example.com", "password": "long enough", "agreement": "1"}},
      details=("username", "ERR_BLANK")),
    C("POST", "/api/v1/accounts", "invalid username", 422, who="app",
      kwargs={"data": {**REQUIRED[("POST", "/api/v1/accounts")], "username": "no spaces!"}},
      details=("username", "ERR_INVALID")),
    C("POST", "/api/v1/accounts", "bad email", 422, who="app",
      kwargs={"data": {**REQUIRED[("POST", "/api/v1/accounts")], "email": "not-an-email"}},
      details=("email", "ERR_INVALID")),
    C("POST", "/api/v1/accounts", "short password", 422, who="app",
      kwargs={"data": {**REQUIRED[("POST", "/api/v1/accounts")], "password": "short"}},
      details=("password", "ERR_TOO_SHORT")),
    C("POST", "/api/v1/accounts", "username taken (other case)", 422, who="app",
      kwargs={"data": {**REQUIRED[("POST", "/api/v1/accounts")], "username": "ALICE"}},
      details=("username", "ERR_TAKEN")),
    C("POST", "/api/v1/accounts", "app token without write:accounts", 403, who="app_read",
      kwargs={"data": REQUIRED[("POST", "/api/v1/accounts")]}),
    C("GET", "/api/v1/accounts/verify_credentials", "revoked token", 401, who="revoked", error=INVALID_TOKEN),
    C("PATCH", "/api/v1/accounts/update_credentials", "display name too long", 422,
      kwargs={"data": {"display_name": "x" * 31}}, details=("display_name", "ERR_TOO_LONG")),
    C("PATCH", "/api/v1/accounts/update_credentials", "note too long", 422,
      kwargs={"json": {"note": "x" * 501}}, details=("note", "ERR_TOO_LONG")),
    C("PATCH", "/api/v1/accounts/update_credentials", "display name not a string", 422,
      kwargs={"json": {"display_name": {"a": 1}}}),
    C("PATCH", "/api/v1/accounts/update_credentials", "locked junk with a valid name", 422,
      kwargs={"json": {"display_name": "New name", "locked": "maybe"}}),
    C("GET", "/api/v1/accounts/lookup", "acct missing", 400),
    C("GET", "/api/v1/accounts/lookup", "unknown acct", 404, who="anon", error=NOT_FOUND,
      kwargs={"params": {"acct": "nobody"}}),
    C("GET", "/api/v1/accounts/lookup", "remote acct", 404, who="anon", error=NOT_FOUND,
      kwargs={"params": {"acct": "alice@elsewhere.example"}}),
    C("GET", "/api/v1/accounts/relationships", "non-numeric id", 422, kwargs={"params": {"id[]": ["abc"]}}),
    C("GET", "/api/v1/accounts/relationships", "negative id", 422, kwargs={"params": {"id[]": ["1", "-5"]}}),
    C("GET", "/api/v1/accounts/{id}", "unknown account", 404, who="anon", path="/api/v1/accounts/1",
      error=NOT_FOUND),
    C("GET", "/api/v1/accounts/{id}/statuses", "unknown account", 404, path="/api/v1/accounts/1/statuses",
      error=NOT_FOUND),
    C("GET", "/api/v1/accounts/{id}/statuses", "max_id not an id", 422,
      path="/api/v1/accounts/{alice}/statuses", kwargs={"params": {"max_id": "xyz"}}),
    C("GET", "/api/v1/accounts/{id}/statuses", "pinned junk", 422,
      path="/api/v1/accounts/{alice}/statuses", kwargs={"params": {"pinned": "maybe"}}),
    C("GET", "/api/v1/accounts/{id}/followers", "unknown account", 404, path="/api/v1/accounts/1/followers",
      error=NOT_FOUND),
    C("GET", "/api/v1/accounts/{id}/followers", "limit not a number", 422,
      path="/api/v1/accounts/{alice}/followers", kwargs={"params": {"limit": "abc"}}),
    C("GET", "/api/v1/accounts/{id}/following", "unknown account", 404, path="/api/v1/accounts/1/following",
      error=NOT_FOUND),
    C("GET", "/api/v1/accounts/{id}/following", "since_id negative", 422,
      path="/api/v1/accounts/{alice}/following", kwargs={"params": {"since_id": "-1"}}),
    C("POST", "/api/v1/accounts/{id}/follow", "follow yourself", 403, path="/api/v1/accounts/{alice}/follow"),
    C("POST", "/api/v1/accounts/{id}/follow", "unknown account", 404, path="/api/v1/accounts/1/follow",
      error=NOT_FOUND),
    C("POST", "/api/v1/accounts/{id}/follow", "reblogs junk", 422, path="/api/v1/accounts/{carol}/follow",
      kwargs={"data": {"reblogs": "maybe"}}),
    C("POST", "/api/v1/accounts/{id}/unfollow", "unknown account", 404, path="/api/v1/accounts/1/unfollow",
      error=NOT_FOUND),
    # follow requests (alice is not locked: nobody is waiting, so every answer is a 404)
    C("GET", "/api/v1/follow_requests", "limit junk", 422, kwargs={"params": {"limit": "lots"}}),
    C("GET", "/api/v1/follow_requests", "max_id not an id", 422, kwargs={"params": {"max_id": "-3"}}),
    C("GET", "/api/v1/follow_requests", "write-only token", 403, who="alice_write"),
    C("POST", "/api/v1/follow_requests/{id}/authorize", "no pending request from a follower", 404,
      path="/api/v1/follow_requests/{bob}/authorize", error=NOT_FOUND),
    C("POST", "/api/v1/follow_requests/{id}/authorize", "the caller's own id", 404,
      path="/api/v1/follow_requests/{alice}/authorize", error=NOT_FOUND),
    C("POST", "/api/v1/follow_requests/{id}/authorize", "a status id", 404,
      path="/api/v1/follow_requests/{status}/authorize", error=NOT_FOUND),
    C("POST", "/api/v1/follow_requests/{id}/reject", "no pending request", 404,
      path="/api/v1/follow_requests/{carol}/reject", error=NOT_FOUND),
    C("POST", "/api/v1/follow_requests/{id}/reject", "read-only token", 403, who="alice_read",
      path="/api/v1/follow_requests/{carol}/reject"),
    # operations and instance: input-less GET routes reject other methods, in JSON
    *[C("GET", p, "wrong method", 405, who="anon", kwargs={"method": "POST"}) for p in (
        "/health", "/ready", "/openapi.json", "/avatars/original/missing.png", "/headers/original/missing.png",
        "/api/v1/instance", "/api/v2/instance", "/.well-known/nodeinfo", "/nodeinfo/2.0",
        "/.well-known/oauth-authorization-server", "/metrics")],
    C("GET", "/api/v1/instance", "wrong method, trailing slash", 405, who="anon", path="/api/v1/instance/",
      kwargs={"method": "DELETE"}),
    C("GET", "/api/v1/preferences", "wrong method", 405, kwargs={"method": "POST"}),
    # notifications
    C("GET", "/api/v1/notifications", "account_id not an id", 422, kwargs={"params": {"account_id": "abc"}}),
    C("GET", "/api/v1/notifications", "limit junk", 422, kwargs={"params": {"limit": "lots"}}),
    C("GET", "/api/v1/notifications/{id}", "someone else's notification", 404, who="bob",
      path="/api/v1/notifications/{notification}", error=NOT_FOUND),
    C("POST", "/api/v1/notifications/clear", "read-only token", 403, who="alice_read"),
    C("POST", "/api/v1/notifications/{id}/dismiss", "someone else's notification", 404, who="bob",
      path="/api/v1/notifications/{notification}/dismiss", error=NOT_FOUND,
      after=("alice", "/api/v1/notifications/{notification}", "")),
    # OAuth and apps
    C("POST", "/api/v1/apps", "client_name missing", 400, who="anon",
      kwargs={"data": {"redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}}),
    C("POST", "/api/v1/apps", "redirect_uris missing", 400, who="anon", kwargs={"data": {"client_name": "x"}}),
    C("POST", "/api/v1/apps", "relative redirect uri", 422, who="anon",
      kwargs={"data": {"client_name": "x", "redirect_uris": "/callback"}}),
    C("POST", "/api/v1/apps", "unknown scope", 422, who="anon",
      kwargs={"data": {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read admin:all"}}),
    C("POST", "/api/v1/apps", "name too long", 422, who="anon",
      kwargs={"data": {"client_name": "x" * 61, "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}}),
    C("POST", "/api/v1/apps", "redirect_uris not a string", 400, who="anon",
      kwargs={"json": {"client_name": "x", "redirect_uris": {"a": 1}}}),
    C("GET", "/api/v1/apps/verify_credentials", "revoked token", 401, who="revoked", error=INVALID_TOKEN),
    C("POST", "/oauth/token", "unknown client", 401, who="anon",
      kwargs={"data": {"grant_type": "client_credentials", "client_id": "nope", "client_secret": "nope"}}),
    C("POST", "/oauth/token", "grant_type missing", 400, who="anon", kwargs={"data": {"client_id": "nope"}}),
    C("POST", "/oauth/revoke", "unknown client", 401, who="anon",
      kwargs={"data": {"client_id": "nope", "client_secret": "nope", "token": "{alice_token}"}},
      after=("alice", "/api/v1/accounts/verify_credentials", "")),
    C("GET", "/oauth/authorize", "unknown client", 400, who="anon",
      kwargs={"params": {"response_type": "code", "client_id": "nope", "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"}}),
    C("GET", "/oauth/authorize", "unsupported response_type", 400, who="anon",
      kwargs={"params": {"response_type": "token", "client_id": "{client_id}",
                         "redirect_uri": "urn:ietf:wg:oauth:2.0:oob"}}),
    C("GET", "/oauth/authorize", "unregistered redirect uri", 400, who="anon",
      kwargs={"params": {"response_type": "code", "client_id": "{client_id}",
                         "redirect_uri": "https://evil.example/cb"}}),
    C("POST", "/oauth/authorize", "unknown client", 400, who="anon",
      kwargs={"data": {"client_id": "nope", "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                       "username": "alice", "password": "x"}}),
    C("POST", "/oauth/authorize", "wrong password", 401, who="anon",
      kwargs={"data": {"client_id": "{client_id}", "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
                       "username": "alice", "password": "wrong password"}}),
    # search
    C("GET", "/api/v2/search", "q missing", 400, who="anon"),
    C("GET", "/api/v2/search", "unknown type", 422, who="anon", kwargs={"params": {"q": "a", "type": "bogus"}}),
    C("GET", "/api/v2/search", "negative offset", 422, kwargs={"params": {"q": "a", "offset": "-1"}}),
    C("GET", "/api/v2/search", "offset without a user", 401, who="anon",
      error="Search queries pagination is not supported without authentication",
      kwargs={"params": {"q": "a", "offset": "1"}}),
    C("GET", "/api/v2/search", "limit junk", 422, kwargs={"params": {"q": "a", "limit": "abc"}}),
    C("GET", "/api/v2/search", "resolve without a user", 401, who="anon",
      error="Search queries that resolve remote resources are not supported without authentication",
      kwargs={"params": {"q": "a", "resolve": "true"}}),
    C("PATCH", "/api/v1/accounts/update_credentials", "indexable junk", 422,
      kwargs={"data": {"indexable": "maybe"}}),
    # statuses
    C("POST", "/api/v1/statuses", "empty status", 422, kwargs={"json": {"status": ""}},
      error="Validation failed: Text can't be blank"),
    C("POST", "/api/v1/statuses", "status missing", 422, kwargs={"json": {"visibility": "public"}}),
    C("POST", "/api/v1/statuses", "whitespace only", 422, kwargs={"data": {"status": " \n\t "}}),
    C("POST", "/api/v1/statuses", "501 characters", 422, kwargs={"json": {"status": LONG}}),
    C("POST", "/api/v1/statuses", "501 characters, form", 422, kwargs={"data": {"status": LONG}}),
    C("POST", "/api/v1/statuses", "text + spoiler over 500", 422,
      kwargs={"json": {"status": "x" * 300, "spoiler_text": "y" * 201}}),
    C("POST", "/api/v1/statuses", "501 emoji (characters, not bytes)", 422, kwargs={"json": {"status": "🦜" * 501}}),
    C("POST", "/api/v1/statuses", "visibility bogus", 422, kwargs={"json": {"status": "x", "visibility": "bogus"}}),
    C("POST", "/api/v1/statuses", "reply to unknown status", 404, error=NOT_FOUND,
      kwargs={"json": {"status": "x", "in_reply_to_id": "1"}}),
    C("POST", "/api/v1/statuses", "reply to invisible private status", 404, who="carol", error=NOT_FOUND,
      kwargs={"json": {"status": "x", "in_reply_to_id": "{private}"}}),
    C("GET", "/api/v1/statuses/{id}", "unknown status", 404, who="anon", path="/api/v1/statuses/1", error=NOT_FOUND),
    C("GET", "/api/v1/statuses/{id}", "private status, anonymous", 404, who="anon",
      path="/api/v1/statuses/{private}", error=NOT_FOUND),
    C("DELETE", "/api/v1/statuses/{id}", "someone else's status", 403, who="bob",
      path="/api/v1/statuses/{status}", after=("alice", "/api/v1/statuses/{status}", "")),
    C("DELETE", "/api/v1/statuses/{id}", "someone else's status, as mentioned reader", 403, who="alice",
      path="/api/v1/statuses/{bob_status}", after=("bob", "/api/v1/statuses/{bob_status}", "")),
    C("DELETE", "/api/v1/statuses/{id}", "invisible private status", 404, who="carol",
      path="/api/v1/statuses/{private}", error=NOT_FOUND, after=("alice", "/api/v1/statuses/{private}", "")),
    C("GET", "/api/v1/statuses/{id}/context", "unknown status", 404, who="anon",
      path="/api/v1/statuses/1/context", error=NOT_FOUND),
    C("POST", "/api/v1/statuses/{id}/favourite", "unknown status", 404, path="/api/v1/statuses/1/favourite",
      error=NOT_FOUND),
    C("POST", "/api/v1/statuses/{id}/unfavourite", "unknown status", 404, path="/api/v1/statuses/1/unfavourite",
      error=NOT_FOUND),
    C("POST", "/api/v1/statuses/{id}/reblog", "visibility bogus", 422, who="bob",
      path="/api/v1/statuses/{status}/reblog", kwargs={"json": {"visibility": "bogus"}}),
    C("POST", "/api/v1/statuses/{id}/reblog", "private status by a follower", 403, who="bob",
      path="/api/v1/statuses/{private}/reblog"),
    C("POST", "/api/v1/statuses/{id}/unreblog", "unknown status", 404, path="/api/v1/statuses/1/unreblog",
      error=NOT_FOUND),
    C("GET", "/api/v1/statuses/{id}/favourited_by", "limit junk", 422,
      path="/api/v1/statuses/{status}/favourited_by", kwargs={"params": {"limit": "abc"}}),
    C("GET", "/api/v1/statuses/{id}/reblogged_by", "max_id junk", 422,
      path="/api/v1/statuses/{status}/reblogged_by", kwargs={"params": {"max_id": "xyz"}}),
    C("GET", "/api/v1/favourites", "min_id junk", 422, kwargs={"params": {"min_id": "xyz"}}),
    # timelines
    C("GET", "/api/v1/timelines/home", "max_id junk", 422, kwargs={"params": {"max_id": "xyz"}}),
    C("GET", "/api/v1/timelines/home", "limit junk", 422, kwargs={"params": {"limit": "abc"}}),
    C("GET", "/api/v1/timelines/public", "min_id junk", 422, who="anon", kwargs={"params": {"min_id": "xyz"}}),
    C("GET", "/api/v1/timelines/public", "only_media junk", 422, who="anon",
      kwargs={"params": {"only_media": "maybe"}}),
]


def _fill(world: World, value: Any) -> Any:
    names = {**world.ids, "client_id": world.srv.client_id, "alice_token": world.alice.token}
    if isinstance(value, str):
        return value.format(**names) if "{" in value else value
    if isinstance(value, dict):
        return {k: _fill(world, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(world, v) for v in value]
    return value


def test_every_route_has_bad_input_cases() -> None:
    covered = {c.endpoint for c in CASES}
    missing = [endpoint_id(e) for e in ENDPOINTS if (e.method, e.path) not in covered]
    assert not missing, f"routes without a bad-input case in CASES: {missing}"


def test_cases_name_real_routes() -> None:
    routes = {(e.method, e.path) for e in ENDPOINTS}
    assert not [c.endpoint for c in CASES if c.endpoint not in routes]


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.endpoint[0]} {c.endpoint[1]}: {c.what}")
def test_route_specific_bad_input(world: World, case: Case) -> None:
    kwargs = _fill(world, dict(case.kwargs))
    method = kwargs.pop("method", case.endpoint[0])
    path = _fill(world, case.path or case.endpoint[1])
    r = send(world, method, path, who=case.who, **kwargs)
    endpoint = next(e for e in ENDPOINTS if (e.method, e.path) == case.endpoint)
    expect_error(endpoint if method == case.endpoint[0] else None, r, case.status, case.error)
    if case.details is not None:
        name, code = case.details
        assert r.json()["details"][name][0]["error"] == code, r.json()
    if case.after is not None:
        who, after_path, _ = case.after
        again = send(world, "GET", _fill(world, after_path), who=who)
        assert again.status_code == 200, again.text


def test_unknown_route_is_a_json_404(world: World) -> None:
    assert_error(send(world, "GET", "/api/v1/nope"), 404, NOT_FOUND)
    assert_error(send(world, "GET", "/api/v1/statuses/1/nope", who="alice"), 404, NOT_FOUND)


def test_status_of_exactly_500_characters_is_accepted(world: World) -> None:
    """The boundary of the 501-character case (then removed again, so nothing stays changed)."""
    r = send(world, "POST", "/api/v1/statuses", who="alice", json={"status": "y" * 500})
    assert r.status_code == 200, r.text
    assert send(world, "DELETE", f"/api/v1/statuses/{r.json()['id']}", who="alice").status_code == 200


@pytest.mark.parametrize("kind", ["accounts", "statuses"])
def test_search_huge_offset(world: World, kind: str) -> None:
    r = send(world, "GET", "/api/v2/search", who="alice",
             params={"q": "alice", "type": kind, "offset": "99999999999999999999"})
    assert r.status_code in (200, 422), r.text


@pytest.mark.parametrize("query", ["limit=--5", "limit=%C2%B2", "max_id=%C2%B2"])
def test_tricky_numbers_in_query(world: World, query: str) -> None:
    assert_error(send(world, "GET", f"/api/v1/timelines/public?{query}"), 422)


def test_relationships_superscript_id(world: World) -> None:
    assert_error(send(world, "GET", "/api/v1/accounts/relationships", who="alice", params={"id[]": "²"}), 422)
