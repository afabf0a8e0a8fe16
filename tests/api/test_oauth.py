"""OAuth errors in RFC 6749's shape (error + error_description) with the right statuses, the grants
that work, scopes echoed back, and revocation. Failed grants store nothing."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import ALL_SCOPES, Server, User, assert_error, running_server
from .shapes import Shape

OOB = "urn:ietf:wg:oauth:2.0:oob"
PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shape: Shape) -> Iterator[tuple[Server, User]]:
    with running_server(tmp_path_factory.mktemp("oauth"), shape=shape) as srv:
        yield srv, srv.register("olive", PASSWORD)


def token_request(srv: Server, headers: dict[str, str] | None = None, **data: Any) -> Any:
    return srv.client.post("/oauth/token", data=data, headers=headers or {})


def creds(srv: Server) -> dict[str, str]:
    return {"client_id": srv.client_id, "client_secret": srv.client_secret}


def assert_oauth_error(response: Any, status: int, code: str) -> None:
    body = assert_error(response, status, code)
    assert isinstance(body.get("error_description"), str) and body["error_description"], body


def code_for(srv: Server, client_id: str, scope: str = "read", redirect_uri: str = OOB) -> str:
    page = srv.client.post("/oauth/authorize", data={
        "client_id": client_id, "redirect_uri": redirect_uri, "username": "olive",
        "password": PASSWORD, "scope": scope})
    match = re.search(r"<code>([^<]+)</code>", page.text)
    assert page.status_code == 200 and match, page.text
    return match.group(1)


# -- invalid_client (401) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "client",
    [{"client_id": "nope", "client_secret": "nope"}, {"client_id": "{id}", "client_secret": "wrong"},
     {"client_id": "{id}"}, {}, {"client_secret": "{secret}"}],
)
@pytest.mark.parametrize("grant", ["client_credentials", "password", "authorization_code"])
def test_bad_client(world: tuple[Server, User], client: dict[str, str], grant: str) -> None:
    srv, _ = world
    before = srv.fingerprint()
    data = {k: v.format(id=srv.client_id, secret=srv.client_secret) for k, v in client.items()}
    r = token_request(srv, grant_type=grant, username="olive", password=PASSWORD, code="x", **data)
    assert_oauth_error(r, 401, "invalid_client")
    assert srv.fingerprint() == before


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"nope:nope").decode(),
                                   base64.b64encode(b"\xff\xfe").decode()])
def test_bad_client_over_basic_auth(world: tuple[Server, User], value: str) -> None:
    srv, _ = world
    r = token_request(srv, headers={"Authorization": f"Basic {value}"}, grant_type="client_credentials")
    assert_oauth_error(r, 401, "invalid_client")


def test_client_secret_basic_works(world: tuple[Server, User]) -> None:
    srv, _ = world
    basic = base64.b64encode(f"{srv.client_id}:{srv.client_secret}".encode()).decode()
    r = token_request(srv, headers={"Authorization": f"Basic {basic}"}, grant_type="client_credentials")
    assert r.status_code == 200, r.text
    assert r.json()["token_type"] == "Bearer"


# -- invalid_grant (400) --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password"),
    [("olive@example.com", "wrong password"), ("olive", "wrong password"), ("nobody@example.com", PASSWORD),
     ("OLIVE@EXAMPLE.COM", "Correct Horse Battery")],
)
def test_bad_password_grant(world: tuple[Server, User], username: str, password: str) -> None:
    srv, _ = world
    before = srv.fingerprint()
    r = token_request(srv, grant_type="password", username=username, password=password, **creds(srv))
    assert_oauth_error(r, 400, "invalid_grant")
    assert srv.fingerprint() == before


def test_bad_authorization_codes(world: tuple[Server, User]) -> None:
    srv, _ = world
    other = srv.create_app_credentials()
    # garbage, another client's code, a wrong redirect_uri, and a reused code
    assert_oauth_error(token_request(srv, grant_type="authorization_code", code="garbage",
                                     redirect_uri=OOB, **creds(srv)), 400, "invalid_grant")
    theirs = code_for(srv, other["client_id"])
    assert_oauth_error(token_request(srv, grant_type="authorization_code", code=theirs,
                                     redirect_uri=OOB, **creds(srv)), 400, "invalid_grant")
    mine = code_for(srv, srv.client_id)
    assert_oauth_error(token_request(srv, grant_type="authorization_code", code=mine,
                                     redirect_uri="https://elsewhere.example/cb", **creds(srv)), 400, "invalid_grant")
    ok = token_request(srv, grant_type="authorization_code", code=mine, redirect_uri=OOB, **creds(srv))
    assert ok.status_code == 200, ok.text
    assert ok.json()["scope"] == "read"
    assert_oauth_error(token_request(srv, grant_type="authorization_code", code=mine,
                                     redirect_uri=OOB, **creds(srv)), 400, "invalid_grant")


# -- unsupported_grant_type, invalid_request, invalid_scope ------------------------------------------


@pytest.mark.parametrize("grant", ["refresh_token", "implicit", "urn:ietf:params:oauth:grant-type:jwt-bearer", "PASSWORD"])
def test_unsupported_grant_type(world: tuple[Server, User], grant: str) -> None:
    srv, _ = world
    r = token_request(srv, grant_type=grant, refresh_token="x", **creds(srv))
    assert_oauth_error(r, 400, "unsupported_grant_type")


@pytest.mark.parametrize(
    "data",
    [{}, {"grant_type": ""}, {"grant_type": "password", "username": "olive"},
     {"grant_type": "password", "password": PASSWORD}, {"grant_type": "authorization_code"}],
)
def test_missing_parameters(world: tuple[Server, User], data: dict[str, str]) -> None:
    srv, _ = world
    assert_oauth_error(token_request(srv, **data, **creds(srv)), 400, "invalid_request")


@pytest.mark.parametrize("scope", ["admin:everything", "read bogus", "READ"])
@pytest.mark.parametrize("grant", ["password", "client_credentials"])
def test_unknown_scope(world: tuple[Server, User], scope: str, grant: str) -> None:
    srv, _ = world
    before = srv.fingerprint()
    r = token_request(srv, grant_type=grant, username="olive", password=PASSWORD, scope=scope, **creds(srv))
    assert_oauth_error(r, 400, "invalid_scope")
    assert srv.fingerprint() == before


def test_scope_beyond_the_apps_scopes(world: tuple[Server, User]) -> None:
    srv, _ = world
    read_only = srv.create_app_credentials("read")
    for scope in ("write", "read write", "follow", "write:statuses"):
        r = token_request(srv, grant_type="client_credentials", client_id=read_only["client_id"],
                          client_secret=read_only["client_secret"], scope=scope)
        assert_oauth_error(r, 400, "invalid_scope")
    ok = token_request(srv, grant_type="client_credentials", client_id=read_only["client_id"],
                       client_secret=read_only["client_secret"], scope="read:statuses")
    assert ok.status_code == 200 and ok.json()["scope"] == "read:statuses"


def test_oauth_errors_are_json(world: tuple[Server, User]) -> None:
    srv, _ = world
    r = token_request(srv, grant_type="nope", **creds(srv))
    assert r.headers["content-type"].startswith("application/json")


# -- what works ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["olive@example.com", "Olive@Example.com", "olive"])
def test_password_grant_echoes_the_scope(world: tuple[Server, User], login: str) -> None:
    srv, _ = world
    r = token_request(srv, grant_type="password", username=login, password=PASSWORD,
                      scope=ALL_SCOPES, **creds(srv))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == ALL_SCOPES and body["token_type"] == "Bearer"
    assert isinstance(body["created_at"], int)
    me = srv.client.get("/api/v1/accounts/verify_credentials",
                        headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "olive"


def test_json_token_request(world: tuple[Server, User]) -> None:
    srv, _ = world
    r = srv.client.post("/oauth/token", json={"grant_type": "client_credentials", **creds(srv), "scope": "read"})
    assert r.status_code == 200 and r.json()["scope"] == "read"


def test_metadata_lists_the_grants(world: tuple[Server, User]) -> None:
    srv, _ = world
    meta = srv.get("/.well-known/oauth-authorization-server")
    assert {"password", "authorization_code", "client_credentials"} <= set(meta["grant_types_supported"])
    assert meta["token_endpoint"].endswith("/oauth/token")


# -- revocation ---------------------------------------------------------------------------------------


def test_revocation(world: tuple[Server, User]) -> None:
    srv, olive = world
    token = srv.token_for(olive.id, "read")
    headers = {"Authorization": f"Bearer {token}"}
    assert srv.client.get("/api/v1/accounts/verify_credentials", headers=headers).status_code == 200
    other = srv.create_app_credentials()
    # Another client may not revoke it.
    r = srv.client.post("/oauth/revoke", data={"client_id": other["client_id"],
                                              "client_secret": other["client_secret"], "token": token})
    assert_error(r, 403)
    assert srv.client.get("/api/v1/accounts/verify_credentials", headers=headers).status_code == 200
    # Its own client may; unknown tokens are fine (RFC 7009).
    assert srv.client.post("/oauth/revoke", data={**creds(srv), "token": token}).json() == {}
    assert srv.client.post("/oauth/revoke", data={**creds(srv), "token": "unknown"}).json() == {}
    assert_error(srv.client.get("/api/v1/accounts/verify_credentials", headers=headers),
                 401, "The access token is invalid")


# -- redirect URIs at app registration -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("javascript:alert(1)", "Validation failed: Redirect URI is forbidden by the server."),
        ("JavaScript://%0aalert(1)", "Validation failed: Redirect URI is forbidden by the server."),
        ("data:text/html,<script>alert(1)</script>", "Validation failed: Redirect URI is forbidden by the server."),
        ("vbscript:msgbox(1)", "Validation failed: Redirect URI is forbidden by the server."),
        ("file:///etc/passwd", "Validation failed: Redirect URI is forbidden by the server."),
        ("https://app.example/cb#frag", "Validation failed: Redirect URI cannot contain a fragment."),
        ("/relative/path", "Validation failed: Redirect URI must be an absolute URI."),
        ("app.example/cb", "Validation failed: Redirect URI must be an absolute URI."),
        ("https:///no-host", "Validation failed: Redirect URI must be an absolute URI."),
        ("http://[::1/cb", "Validation failed: Redirect URI must be an absolute URI."),
        ("myapp:", "Validation failed: Redirect URI must be an absolute URI."),
        ("https://app.example/c b", "Validation failed: Redirect URI must be an absolute URI."),
        ("https://app.example/" + "a" * 2000, "Validation failed: Redirect URI is too long (maximum is 2000 characters)"),
    ],
)
def test_unsafe_redirect_uris_are_refused(world: tuple[Server, User], uri: str, message: str) -> None:
    srv, _ = world
    before = srv.fingerprint()
    for payload in ({"redirect_uris": uri}, {"redirect_uris": [OOB, uri]}):
        r = srv.client.post("/api/v1/apps", json={"client_name": "evil", "scopes": "read", **payload})
        assert_error(r, 422, message)
    assert srv.fingerprint() == before


@pytest.mark.parametrize(
    "uri", [OOB, "https://app.example/callback?x=1", "http://localhost:4000/cb", "myapp://oauth",
            "com.example.app:/oauth2redirect", "http://127.0.0.1:8000/"],
)
def test_safe_redirect_uris_are_accepted(world: tuple[Server, User], uri: str) -> None:
    srv, _ = world
    r = srv.client.post("/api/v1/apps", data={"client_name": "ok", "redirect_uris": uri, "scopes": "read"})
    assert r.status_code == 200, r.text
    assert r.json()["redirect_uri"] == uri


def test_an_unsafe_redirect_uri_stored_earlier_gets_no_code(world: tuple[Server, User]) -> None:
    """An app registered before the check existed must not be redirected to javascript:."""
    srv, _ = world
    app = srv.call(srv.container.oauth.create_app, "old", [OOB], "read", None)
    evil = "javascript:alert(document.domain)"
    shard = srv.container.backends.db.for_key(app.client_id)
    srv.call(shard.execute, "UPDATE applications SET redirect_uris = ? WHERE client_id = ?",
             (f"{OOB}\n{evil}", app.client_id))
    page = srv.client.get("/oauth/authorize", params={"client_id": app.client_id, "redirect_uri": evil,
                                                      "response_type": "code"})
    assert page.status_code == 400
    r = srv.client.post("/oauth/authorize", data={"client_id": app.client_id, "redirect_uri": evil,
                                                 "username": "olive", "password": PASSWORD},
                        follow_redirects=False)
    assert r.status_code == 400 and "location" not in r.headers


# -- PKCE (RFC 7636) -----------------------------------------------------------------------------------

VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636 appendix B
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def pkce_code(srv: Server, challenge: str, method: str | None = "S256") -> str:
    """Through the consent page, as a browser would: the challenge travels in its hidden fields."""
    params = {"client_id": srv.client_id, "redirect_uri": OOB, "response_type": "code", "scope": "read",
              "code_challenge": challenge}
    if method is not None:
        params["code_challenge_method"] = method
    page = srv.client.get("/oauth/authorize", params=params)
    assert page.status_code == 200, page.text
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page.text))
    done = srv.client.post("/oauth/authorize", data={**fields, "username": "olive", "password": PASSWORD})
    match = re.search(r"<code>([^<]+)</code>", done.text)
    assert done.status_code == 200 and match, done.text
    return match.group(1)


def exchange(srv: Server, code: str, **extra: str) -> Any:
    return token_request(srv, grant_type="authorization_code", code=code, redirect_uri=OOB, **creds(srv), **extra)


def test_pkce_s256_right_verifier(world: tuple[Server, User]) -> None:
    srv, _ = world
    r = exchange(srv, pkce_code(srv, CHALLENGE), code_verifier=VERIFIER)
    assert r.status_code == 200, r.text


def test_pkce_wrong_or_missing_verifier_is_refused_and_the_code_survives(world: tuple[Server, User]) -> None:
    srv, _ = world
    code = pkce_code(srv, CHALLENGE)
    before = srv.fingerprint()
    for wrong in (VERIFIER[:-1] + "Y", "x" * 43, CHALLENGE, VERIFIER[:42], "é" * 43):
        assert_oauth_error(exchange(srv, code, code_verifier=wrong), 400, "invalid_grant")
    assert_oauth_error(exchange(srv, code), 400, "invalid_request")  # Doorkeeper: missing parameter
    assert srv.fingerprint() == before
    assert exchange(srv, code, code_verifier=VERIFIER).status_code == 200


def test_pkce_verifier_without_a_challenge_is_refused(world: tuple[Server, User]) -> None:
    """As Doorkeeper does (and OAuth 2.1 asks, against downgrades): no challenge, no verifier."""
    srv, _ = world
    code = code_for(srv, srv.client_id)
    assert_oauth_error(exchange(srv, code, code_verifier=VERIFIER), 400, "invalid_grant")
    assert exchange(srv, code).status_code == 200


@pytest.mark.parametrize("method", ["plain", None])
def test_pkce_plain(world: tuple[Server, User], method: str | None) -> None:
    """plain, named or by RFC 7636's default when no method is given: the verifier is the challenge."""
    srv, _ = world
    code = pkce_code(srv, VERIFIER, method)
    assert_oauth_error(exchange(srv, code, code_verifier=CHALLENGE), 400, "invalid_grant")
    assert exchange(srv, code, code_verifier=VERIFIER).status_code == 200


@pytest.mark.parametrize(
    ("challenge", "method"),
    [(CHALLENGE, "S512"), (CHALLENGE, "s256"), (CHALLENGE, "PLAIN"), ("short", "S256"), ("a" * 129, "plain"),
     (CHALLENGE[:-1] + "=", "S256")],
)
def test_pkce_bad_challenge_is_refused_at_authorize_time(
    world: tuple[Server, User], challenge: str, method: str
) -> None:
    srv, _ = world
    params = {"client_id": srv.client_id, "redirect_uri": OOB, "response_type": "code",
              "code_challenge": challenge, "code_challenge_method": method}
    assert srv.client.get("/oauth/authorize", params=params).status_code == 400
    before = srv.fingerprint()
    r = srv.client.post("/oauth/authorize", data={**params, "username": "olive", "password": PASSWORD})
    assert r.status_code == 400 and "<code>" not in r.text
    assert srv.fingerprint() == before


def test_metadata_lists_the_pkce_methods(world: tuple[Server, User]) -> None:
    srv, _ = world
    meta = srv.get("/.well-known/oauth-authorization-server")
    assert meta["code_challenge_methods_supported"] == ["S256", "plain"]
