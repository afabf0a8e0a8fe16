"""OAuth routes: app registration, token grants, the login-and-consent page, revocation."""

from __future__ import annotations

import base64
import binascii
import html
from urllib.parse import unquote, urlencode

from starlette.responses import HTMLResponse, RedirectResponse, Response

from roost.domain import pkce
from roost.domain.redirect_uris import redirect_uri_problem
from roost.errors import BadRequest, Unauthorized
from roost.gateway.context import Call
from roost.gateway.endpoints import Param
from roost.gateway.openapi import EMPTY_OBJECT, TEXT
from roost.gateway.routes.table import TABLE
from roost.services.accounts import OOB, OAuthError


@TABLE.add("POST", "/api/v1/apps", "Register a client application", response="CredentialApplication", tag="oauth", body_limit="max_auth_body_bytes", params=(
    Param("client_name", where="body", required=True), Param("redirect_uris", where="body", required=True),
    Param("scopes", where="body"), Param("website", where="body"),
))
async def create_app(call: Call) -> Response:
    p = call.params
    name = p.required_str("client_name")
    raw_uris = p.raw("redirect_uris")
    if raw_uris is None:
        raise BadRequest("Missing required parameter: redirect_uris")
    if isinstance(raw_uris, str):
        uris = raw_uris.split("\n")
    elif isinstance(raw_uris, list) and all(isinstance(u, str) for u in raw_uris):
        uris = list(raw_uris)
    else:
        raise BadRequest("redirect_uris must be a string or a list of strings")
    app = await call.services.oauth_service.create_app(name, uris, p.string("scopes"), p.string("website"))
    return call.json(call.serializer.application(app, with_secret=True))


@TABLE.add("GET", "/api/v1/apps/verify_credentials", "The calling application", response="Application", auth="app", tag="oauth")
async def verify_app(call: Call) -> Response:
    assert call.identity is not None
    app = await call.services.oauth_service.app_by_id(call.identity.application_id)
    if app is None:
        raise Unauthorized()
    return call.json(call.serializer.application(app))


@TABLE.add("POST", "/oauth/token", "Obtain a token (password, authorization_code, client_credentials)", response="Token", statuses=(401,),
           tag="oauth", body_limit="max_auth_body_bytes", params=(
    Param("grant_type", where="body", required=True), Param("client_id", where="body", required=True),
    Param("client_secret", where="body", required=True), Param("code", where="body"),
    Param("redirect_uri", where="body"), Param("username", where="body"), Param("password", where="body"),
    Param("scope", where="body"), Param("code_verifier", where="body"),
))
async def token(call: Call) -> Response:
    p = call.params
    oauth = call.services.oauth_service
    grant = p.string("grant_type")
    if not grant:
        raise OAuthError("invalid_request", "The request is missing a required parameter: grant_type.")
    client_id, client_secret = _client_credentials(call)
    app = await oauth.authenticate_client(client_id, client_secret)
    scope = p.string("scope")
    if grant == "password":
        username, password = p.string("username"), p.string("password")
        if not username or not password:
            raise OAuthError("invalid_request", "The request is missing a required parameter: username or password.")
        issued = await oauth.password_grant(app, username, password, scope)
    elif grant == "client_credentials":
        issued = await oauth.client_credentials_grant(app, scope)
    elif grant == "authorization_code":
        code = p.string("code")
        if not code:
            raise OAuthError("invalid_request", "The request is missing a required parameter: code.")
        issued = await oauth.authorization_code_grant(
            app, code, p.string("redirect_uri"), p.string("code_verifier")
        )
    else:
        raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
    return call.json(call.serializer.token(issued))


def _client_credentials(call: Call) -> tuple[str | None, str | None]:
    """From HTTP Basic auth (client_secret_basic) or the body (client_secret_post)."""
    header = call.request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise OAuthError("invalid_client", "Client authentication failed.", status=401) from exc
        client_id, _, secret = decoded.partition(":")
        return unquote(client_id), unquote(secret)
    return call.params.string("client_id"), call.params.string("client_secret")


@TABLE.add("POST", "/oauth/revoke", "Revoke a token", response=EMPTY_OBJECT, statuses=(401, 403), tag="oauth", body_limit="max_auth_body_bytes", params=(
    Param("client_id", where="body", required=True), Param("client_secret", where="body", required=True),
    Param("token", where="body", required=True),
))
async def revoke(call: Call) -> Response:
    p = call.params
    oauth = call.services.oauth_service
    client_id, client_secret = _client_credentials(call)
    app = await oauth.authenticate_client(client_id, client_secret)
    await oauth.revoke(app, p.required_str("token"))
    return call.json({})


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Authorize {app} - roost</title>
<style>body{{font-family:system-ui,sans-serif;max-width:26rem;margin:3rem auto;padding:0 1rem}}
input{{display:block;width:100%;margin:.3rem 0 1rem;padding:.4rem}}button{{padding:.5rem 1rem}}
.error{{color:#b00}}code{{font-size:1.2rem;word-break:break-all}}</style></head><body>
<h1>Authorize {app}</h1>{body}</body></html>"""


def _page(app_name: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(app=html.escape(app_name), body=body), status)


_AUTHORIZE_PARAMS = (
    Param("response_type", required=True), Param("client_id", required=True),
    Param("redirect_uri", required=True), Param("scope"), Param("state"), Param("force_login", "boolean"),
    Param("code_challenge"), Param("code_challenge_method"),
)


@TABLE.add("GET", "/oauth/authorize", "Login-and-consent page (HTML)", response=TEXT, statuses=(400,), tag="oauth",
           trailing_slash=True, params=_AUTHORIZE_PARAMS, content_type="text/html")
async def authorize_page(call: Call) -> Response:
    p = call.params
    app = await call.services.oauth_service.app_by_client_id(p.string("client_id") or "")
    if app is None or p.string("response_type") != "code":
        return _page("an application", '<p class="error">Unknown client or unsupported response_type.</p>', 400)
    redirect_uri = p.string("redirect_uri") or OOB
    if redirect_uri not in app.redirect_uris or redirect_uri_problem(redirect_uri) is not None:
        return _page(app.name, '<p class="error">The redirect URI is not registered for this client.</p>', 400)
    scope = p.string("scope") or " ".join(app.scopes)
    challenge = p.string("code_challenge") or ""
    method = p.string("code_challenge_method") or ("plain" if challenge else "")
    if challenge and (problem := pkce.challenge_problem(challenge, method)) is not None:
        return _page(app.name, f'<p class="error">{html.escape(problem)}</p>', 400)
    hidden = "".join(
        f'<input type="hidden" name="{k}" value="{html.escape(v)}">'
        for k, v in (("client_id", app.client_id), ("redirect_uri", redirect_uri),
                     ("scope", scope), ("state", p.string("state") or ""), ("response_type", "code"),
                     ("code_challenge", challenge), ("code_challenge_method", method))
    )
    body = (
        f"<p><b>{html.escape(app.name)}</b> asks for: <code>{html.escape(scope)}</code></p>"
        f'<form method="post" action="/oauth/authorize">{hidden}'
        '<label>E-mail or username<input name="username" autocomplete="username" required></label>'
        '<label>Password<input name="password" type="password" autocomplete="current-password" required></label>'
        '<button type="submit">Authorize</button></form>'
    )
    return _page(app.name, body)


@TABLE.add("POST", "/oauth/authorize", "Submit the login-and-consent form", response=TEXT, statuses=(302, 400, 401), tag="oauth",
           trailing_slash=True, content_type="text/html", body_limit="max_auth_body_bytes", params=(
    Param("client_id", where="body", required=True), Param("redirect_uri", where="body", required=True),
    Param("username", where="body", required=True), Param("password", where="body", required=True),
    Param("scope", where="body"), Param("state", where="body"),
    Param("code_challenge", where="body"), Param("code_challenge_method", where="body"),
))
async def authorize_submit(call: Call) -> Response:
    p = call.params
    oauth = call.services.oauth_service
    app = await oauth.app_by_client_id(p.string("client_id") or "")
    if app is None:
        return _page("an application", '<p class="error">Unknown client.</p>', 400)
    account = await call.services.accounts_service.authenticate(p.string("username") or "", p.string("password") or "")
    if account is None:
        return _page(app.name, '<p class="error">Invalid e-mail, username or password.</p>', 401)
    redirect_uri = p.string("redirect_uri") or OOB
    try:
        code = await oauth.create_code(
            app, account.id, redirect_uri, p.string("scope"),
            p.string("code_challenge"), p.string("code_challenge_method"),
        )
    except OAuthError as exc:
        return _page(app.name, f'<p class="error">{html.escape(str(exc.extra.get("error_description")))}</p>', 400)
    if redirect_uri == OOB:
        return _page(app.name, f"<p>Copy this authorization code into the application:</p><p><code>{code}</code></p>")
    query = {"code": code}
    if p.string("state"):
        query["state"] = p.string("state") or ""
    separator = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(f"{redirect_uri}{separator}{urlencode(query)}", status_code=302)
