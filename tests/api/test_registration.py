"""POST /api/v1/accounts: Mastodon's validation errors (with details) and the token on success."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Server, assert_error, running_server
from .shapes import Shape

GOOD = {"username": "rita", "email": "rita@example.com", "password": "long enough password",
        "agreement": "1", "locale": "en"}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory, shape: Shape) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("registration"), shape=shape) as server:
        r = register(server, GOOD)
        assert r.status_code == 200, r.text
        yield server


def register(srv: Server, data: dict[str, Any], as_json: bool = False, token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token or srv.app_token()}"}
    if as_json:
        return srv.client.post("/api/v1/accounts", headers=headers, json=data)
    return srv.client.post("/api/v1/accounts", headers=headers, data=data)


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        ({"username": "rita", "email": "other@example.com"}, "username", "ERR_TAKEN"),
        ({"username": "RiTa", "email": "other@example.com"}, "username", "ERR_TAKEN"),
        ({"username": "rita2", "email": "RITA@example.com"}, "email", "ERR_TAKEN"),
        ({"username": "rita2", "email": "not-an-email"}, "email", "ERR_INVALID"),
        ({"username": "rita2", "email": "a@b"}, "email", "ERR_INVALID"),
        ({"username": "rita2", "email": "two@@example.com"}, "email", "ERR_INVALID"),
        ({"username": "rita2", "email": "r2@example.com", "password": "short"}, "password", "ERR_TOO_SHORT"),
        ({"username": "rita2", "email": "r2@example.com", "password": ""}, "password", "ERR_TOO_SHORT"),
        ({"username": "rita2", "email": "r2@example.com", "agreement": "0"}, "agreement", "ERR_ACCEPTED"),
        ({"username": "rita2", "email": "r2@example.com", "agreement": "false"}, "agreement", "ERR_ACCEPTED"),
        ({"username": "rita2", "email": "r2@example.com", "agreement": None}, "agreement", "ERR_ACCEPTED"),
        ({"username": "has space", "email": "r2@example.com"}, "username", "ERR_INVALID"),
        ({"username": "x" * 31, "email": "r2@example.com"}, "username", "ERR_INVALID"),
        ({"username": "", "email": "r2@example.com"}, "username", "ERR_INVALID"),
        ({"username": "émile", "email": "r2@example.com"}, "username", "ERR_INVALID"),
        ({"username": None, "email": "r2@example.com"}, "username", "ERR_BLANK"),
        ({"username": "rita2", "email": None}, "email", "ERR_BLANK"),
    ],
)
@pytest.mark.parametrize("as_json", [False, True])
def test_validation_errors(srv: Server, changes: dict[str, Any], field: str, code: str, as_json: bool) -> None:
    data = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    token = srv.app_token()
    before = srv.fingerprint()
    r = register(srv, data, as_json=as_json, token=token)
    body = assert_error(r, 422)
    assert body["error"].startswith("Validation failed"), body
    detail = body["details"][field][0]
    assert detail["error"] == code and isinstance(detail["description"], str), body
    assert srv.fingerprint() == before


def test_registered_account_works_and_is_placed_by_its_id(srv: Server) -> None:
    r = register(srv, {**GOOD, "username": "sam", "email": "sam@example.com", "agreement": True}, as_json=True)
    assert r.status_code == 200, r.text
    token = r.json()
    assert token["token_type"] == "Bearer" and token["access_token"]
    me = srv.client.get("/api/v1/accounts/verify_credentials",
                        headers={"Authorization": f"Bearer {token['access_token']}"}).json()
    assert me["username"] == "sam" and me["acct"] == "sam"
    assert srv.get("/api/v1/accounts/lookup", acct="SAM")["id"] == me["id"]


def test_registration_needs_an_app_token(srv: Server) -> None:
    assert_error(srv.client.post("/api/v1/accounts", data=GOOD), 401, "The access token is invalid")


def test_closed_registrations(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("closed"), registrations_open=False) as closed:
        r = register(closed, {**GOOD, "username": "late", "email": "late@example.com"})
        assert_error(r, 403)
        assert closed.client.get("/api/v1/accounts/lookup", params={"acct": "late"}).status_code == 404


def test_user_token_gets_the_app_tokens_scopes_not_the_apps(srv: Server) -> None:
    """An app token limited to write:accounts registers a user whose token is limited to it too,
    although the app itself was registered with more (read write:accounts)."""
    app = srv.create_app_credentials("read write:accounts")
    grant = srv.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "scope": "write:accounts"})
    assert grant.status_code == 200 and grant.json()["scope"] == "write:accounts", grant.text
    r = register(srv, {**GOOD, "username": "narrow", "email": "narrow@example.com"},
                 token=grant.json()["access_token"])
    assert r.status_code == 200, r.text
    assert r.json()["scope"] == "write:accounts"
    headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
    assert_error(srv.client.post("/api/v1/statuses", headers=headers, json={"status": "hi"}), 403)
    assert_error(srv.client.get("/api/v1/timelines/home", headers=headers), 403)
    patched = srv.client.patch("/api/v1/accounts/update_credentials", headers=headers,
                               data={"display_name": "Narrow"})
    assert patched.status_code == 200, patched.text


def test_a_broad_app_token_gives_a_broad_user_token(srv: Server) -> None:
    app = srv.create_app_credentials("read write follow")
    grant = srv.client.post("/oauth/token", data={
        "grant_type": "client_credentials", "client_id": app["client_id"],
        "client_secret": app["client_secret"], "scope": "read write"})
    r = register(srv, {**GOOD, "username": "broad", "email": "broad@example.com"},
                 token=grant.json()["access_token"])
    assert r.status_code == 200 and r.json()["scope"] == "read write", r.text


@pytest.mark.parametrize(
    "username", ["admin", "Admin", "ROOT", "support", "help", "postmaster", "webmaster", "administrator",
                 "mod", "moderator", "staff", "security", "owner", "_", "__", "___"],
)
def test_reserved_usernames_are_refused(srv: Server, username: str) -> None:
    token = srv.app_token()
    before = srv.fingerprint()
    r = register(srv, {**GOOD, "username": username, "email": f"x{len(username)}@example.com"}, token=token)
    body = assert_error(r, 422, "Validation failed: Username is reserved")
    assert body["details"]["username"][0]["error"] == "ERR_RESERVED", body
    assert srv.fingerprint() == before


@pytest.mark.parametrize("username", ["admins_fan", "rooted", "_admin", "a_", "_x_", "helper"])
def test_names_that_merely_contain_a_reserved_word_are_allowed(srv: Server, username: str) -> None:
    r = register(srv, {**GOOD, "username": username, "email": f"{username}@example.com"})
    assert r.status_code == 200, r.text
