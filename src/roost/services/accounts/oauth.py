"""OAuth 2 as Mastodon speaks it: apps, tokens (password, authorization_code with OOB,
client_credentials), revocation, and resolving a bearer token to an Identity."""

from __future__ import annotations

import secrets

from roost.domain import pkce
from roost.domain.entities import Application, Identity, Token
from roost.domain.ids import now_ms
from roost.domain.redirect_uris import redirect_uri_problem
from roost.domain.scopes import InvalidScope, expand, is_subset, parse_scopes
from roost.errors import BadRequest, Forbidden, Unauthorized, Unprocessable
from roost.ports.accounts import AuthorizationCode
from roost.services.accounts.accounts import AccountsService
from roost.services.cache_aside import get_or_load
from roost.services.context import Backends
from roost.services.text_input import refuse_nul_in

CODE_LIFETIME_MS = 10 * 60 * 1000
GRANT_TYPES = ("authorization_code", "password", "client_credentials")


class OAuthError(BadRequest):
    """An OAuth error: carries RFC 6749's error code and a description."""

    def __init__(self, code: str, description: str, status: int = 400) -> None:
        super().__init__(code, error_description=description)
        self.status_code = status


class OAuthService:
    def __init__(self, backends: Backends, accounts: AccountsService) -> None:
        self._b = backends
        self._db = backends.db
        self._cache = backends.cache
        self._accounts = accounts
        self._store = backends.repos.oauth

    # -- applications ----------------------------------------------------------------

    async def create_app(
        self, name: str, redirect_uris: list[str], scopes: str | None, website: str | None
    ) -> Application:
        refuse_nul_in(client_name=name, website=website, redirect_uris="\n".join(redirect_uris), scopes=scopes)
        if not name.strip():
            raise Unprocessable("Validation failed: Application name can't be blank")
        if len(name) > 60:
            raise Unprocessable("Validation failed: Application name is too long (maximum is 60 characters)")
        uris = [u.strip() for u in redirect_uris if u.strip()]
        if not uris:
            raise Unprocessable("Validation failed: Redirect URI can't be blank")
        for uri in uris:
            problem = redirect_uri_problem(uri)
            if problem is not None:
                raise Unprocessable(f"Validation failed: Redirect URI {problem}")
        try:
            granted = parse_scopes(scopes)
        except InvalidScope as exc:
            raise Unprocessable(f"Validation failed: Scopes has an unknown scope: {exc}") from exc
        app = Application(
            id=self._b.ids.next_id(secrets.randbelow(self._db.shard_map.logical)),
            name=name.strip(),
            website=website or None,
            redirect_uris=tuple(uris),
            scopes=granted,
            client_id=secrets.token_urlsafe(32),
            client_secret=secrets.token_urlsafe(32),
        )
        await self._store.insert_app(app, now_ms())
        return app

    async def app_by_client_id(self, client_id: str) -> Application | None:
        return await self._store.app_by_client_id(client_id)

    async def app_by_id(self, app_id: int) -> Application | None:
        return await get_or_load(self._cache, f"app:{app_id}", lambda: self._store.app_by_id(app_id))

    async def authenticate_client(self, client_id: str | None, client_secret: str | None) -> Application:
        app = await self.app_by_client_id(client_id) if client_id else None
        if app is None or not secrets.compare_digest(app.client_secret, client_secret or ""):
            raise OAuthError(
                "invalid_client",
                "Client authentication failed due to unknown client, no client authentication"
                " included, or unsupported authentication method.",
                status=401,
            )
        return app

    # -- tokens ----------------------------------------------------------------------

    def _requested_scopes(self, app: Application, raw: str | None) -> tuple[str, ...]:
        try:
            requested = parse_scopes(raw, default=app.scopes)
        except InvalidScope as exc:
            raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.") from exc
        if not is_subset(requested, app.scopes):
            raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or malformed.")
        return requested

    async def issue(self, app: Application, account_id: int | None, scopes: tuple[str, ...]) -> Token:
        token = Token(
            token=secrets.token_urlsafe(32),
            application_id=app.id,
            account_id=account_id,
            scopes=scopes,
            created_at_ms=now_ms(),
        )
        await self._store.insert_token(token)
        return token

    async def granted_scopes(self, app: Application, token: str) -> tuple[str, ...]:
        """The scopes a token of ``app`` was granted, as asked for (not expanded).

        Registration gives the new user's token these: never more than the calling app
        token was allowed. (Mastodon gives it the app's registered scopes instead, so there
        an app token asked for ``write:accounts`` alone yields a ``read write`` user token.)
        """
        found = await self._store.token(token)
        if found is None or found.application_id != app.id:
            raise Unauthorized()
        return found.scopes

    async def password_grant(self, app: Application, login: str, password: str, scope: str | None) -> Token:
        scopes = self._requested_scopes(app, scope)
        account = await self._accounts.authenticate(login, password)
        if account is None:
            raise OAuthError(
                "invalid_grant",
                "The provided authorization grant is invalid, expired, revoked, does not match"
                " the redirection URI used in the authorization request, or was issued to another client.",
            )
        return await self.issue(app, account.id, scopes)

    async def client_credentials_grant(self, app: Application, scope: str | None) -> Token:
        return await self.issue(app, None, self._requested_scopes(app, scope))

    async def create_code(
        self, app: Application, account_id: int, redirect_uri: str, scope: str | None,
        code_challenge: str | None = None, code_challenge_method: str | None = None,
    ) -> str:
        # Apps registered before redirect URIs were checked may hold an unsafe one.
        if redirect_uri not in app.redirect_uris or redirect_uri_problem(redirect_uri) is not None:
            raise OAuthError("invalid_redirect_uri", "The redirect uri included is not valid.")
        scopes = self._requested_scopes(app, scope)
        method = None
        if code_challenge:
            method = code_challenge_method or "plain"  # RFC 7636 §4.3's default
            problem = pkce.challenge_problem(code_challenge, method)
            if problem is not None:
                raise OAuthError("invalid_request", problem)
        code = secrets.token_urlsafe(32)
        await self._store.insert_code(AuthorizationCode(
            code, app.id, account_id, scopes, redirect_uri, now_ms() + CODE_LIFETIME_MS,
            code_challenge or None, method,
        ))
        return code

    async def authorization_code_grant(
        self, app: Application, code: str, redirect_uri: str | None, code_verifier: str | None = None
    ) -> Token:
        invalid = OAuthError(
            "invalid_grant",
            "The provided authorization grant is invalid, expired, revoked, does not match the"
            " redirection URI used in the authorization request, or was issued to another client.",
        )
        row = await self._store.code(code)
        if row is None or row.application_id != app.id or row.expires_at_ms < now_ms():
            raise invalid
        if redirect_uri is not None and redirect_uri != row.redirect_uri:
            raise invalid
        # PKCE as Doorkeeper checks it: a code issued against a challenge needs the verifier
        # (missing: invalid_request); a verifier for a code issued without one is refused too,
        # as is a wrong one (invalid_grant). A failed check leaves the code usable.
        challenge = row.code_challenge
        if challenge and not code_verifier:
            raise OAuthError("invalid_request", "The request is missing a required parameter: code_verifier.")
        if code_verifier and (
            not challenge or not pkce.verifier_matches(code_verifier, challenge, row.code_challenge_method or "plain")
        ):
            raise invalid
        # Codes are single-use: whoever deletes the row wins.
        if not await self._store.consume_code(code):
            raise invalid
        return await self.issue(app, row.account_id, row.scopes)

    async def revoke(self, app: Application, token: str) -> None:
        found = await self._store.token(token)
        if found is None:
            return  # RFC 7009: revoking an unknown token succeeds
        if found.application_id != app.id:
            raise Forbidden("You are not authorized to revoke this token")
        await self._store.delete_token(token)
        await self._cache.delete(f"t:{token}")

    async def identify(self, token: str) -> Identity:
        """The identity behind a bearer token; cached, since every request asks."""
        return await get_or_load(self._cache, f"t:{token}", lambda: self._load_identity(token))

    async def _load_identity(self, token: str) -> Identity:
        found = await self._store.token(token)
        if found is None:
            raise Unauthorized()
        account_id = found.account_id
        if account_id is not None and await self._accounts.get(account_id) is None:
            raise Unauthorized()
        return Identity(
            token=token,
            account_id=account_id,
            application_id=found.application_id,
            scopes=expand(found.scopes),
        )



