"""Odd strings in every declared parameter of every route never cause a 5xx, and every
error is Mastodon's JSON error body (this file's server is separate: some odd strings are
valid input and do store things)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from roost.gateway.endpoints import Endpoint
from roost.gateway.routes import TABLE

from .harness import Server, User, running_server
from .shapes import Shape

ODD = ["'", '"', "\x00", "%", "NEAR(a b)", "a OR b*", "😀", "x" * 2000, "-0", "+1", " 1",
       "00000000000000000001", "1e309", "<script>", "@alice@", "\n", "[]"]
REQUIRED = {
    ("POST", "/api/v1/accounts"): {"username": "fuzz", "email": "fuzz@example.com",
                                   "password": "short", "agreement": "1", "locale": "en"},  # no argon2
    ("GET", "/api/v1/accounts/lookup"): {"acct": "alice"},
    ("GET", "/api/v2/search"): {"q": "alice"},
    ("POST", "/api/v1/statuses"): {"status": "fuzz"},
    ("POST", "/api/v1/apps"): {"client_name": "x", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
}
CASES = [(e, p.name) for e in TABLE.endpoints for p in e.params if p.where != "path"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shape: Shape) -> Iterator[tuple[Server, User, User, dict[str, str]]]:
    with running_server(tmp_path_factory.mktemp("fuzz"), shape=shape) as srv:
        alice, bob = srv.quick_user("alice"), srv.quick_user("bob")
        srv.follow(bob, alice)
        status = srv.post(alice, "hello @bob")
        srv.drain()
        ids = {"accounts": bob.id, "statuses": status["id"],
               "notifications": srv.get("/api/v1/notifications", alice)[0]["id"]}
        yield srv, alice, bob, ids


def target(e: Endpoint, ids: dict[str, str]) -> str:
    for prefix, value in ids.items():
        if e.path.startswith(f"/api/v1/{prefix}/"):
            return e.path.replace("{id}", value)
    return e.path


@pytest.mark.parametrize(("e", "name"), CASES, ids=lambda v: v if isinstance(v, str) else f"{v.method} {v.path}")
def test_odd_strings_never_break_a_route(world: tuple[Server, User, User, dict[str, str]], e: Endpoint, name: str) -> None:
    srv, alice, _bob, ids = world
    headers = {"user": alice.headers, "optional": alice.headers, "none": {},
               "app": {"Authorization": f"Bearer {srv.app_token()}"}}[e.auth]
    path = target(e, ids)
    for value in ODD:
        values: dict[str, Any] = {**REQUIRED.get((e.method, e.path), {}), name: value}
        if e.method == "GET":
            r = srv.client.get(path, headers=headers, params=values)
        else:
            r = srv.client.request(e.method, path, headers=headers, json=values)
        assert r.status_code < 500, (name, value[:20], r.status_code, r.text[:200])
        if r.status_code >= 400 and e.content_type != "text/html":
            assert r.headers["content-type"].startswith("application/json"), r.headers
            assert isinstance(r.json().get("error"), str)
