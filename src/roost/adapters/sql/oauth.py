"""The OAuthRepository of the SQL families (SQLite and PostgreSQL shards).

Applications are placed by hash of their client id (what a token request names),
with an id -> client id row on the shard of the id; tokens and codes by hash of
their own value, so every look-up touches one shard.
"""

from __future__ import annotations

from roost.adapters.sql.units import storable
from roost.domain.entities import Application, Token
from roost.ports.accounts import AuthorizationCode
from roost.ports.database import Row, ShardedDatabase


def _to_app(row: Row) -> Application:
    return Application(
        id=row["id"],
        name=row["name"],
        website=row["website"],
        redirect_uris=tuple(row["redirect_uris"].split("\n")),
        scopes=tuple(row["scopes"].split()),
        client_id=row["client_id"],
        client_secret=row["client_secret"],
    )


class SqlOAuth:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def insert_app(self, app: Application, created_at_ms: int) -> None:
        await self._db.for_key(app.client_id).execute(
            "INSERT INTO applications (client_id, id, name, website, redirect_uris, scopes,"
            " client_secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (app.client_id, app.id, app.name, app.website, "\n".join(app.redirect_uris),
             " ".join(app.scopes), app.client_secret, created_at_ms),
        )
        await self._db.for_id(app.id).execute(
            "INSERT INTO application_ids (id, client_id) VALUES (?, ?)", (app.id, app.client_id)
        )

    async def app_by_client_id(self, client_id: str) -> Application | None:
        if not storable(client_id):
            return None
        row = await self._db.for_key(client_id).fetch_one(
            "SELECT * FROM applications WHERE client_id = ?", (client_id,)
        )
        return None if row is None else _to_app(row)

    async def app_by_id(self, app_id: int) -> Application | None:
        row = await self._db.for_id(app_id).fetch_one(
            "SELECT client_id FROM application_ids WHERE id = ?", (app_id,)
        )
        return None if row is None else await self.app_by_client_id(row["client_id"])

    async def insert_token(self, token: Token) -> None:
        await self._db.for_key(token.token).execute(
            "INSERT INTO tokens (token, application_id, account_id, scopes, created_at) VALUES (?, ?, ?, ?, ?)",
            (token.token, token.application_id, token.account_id, " ".join(token.scopes), token.created_at_ms),
        )

    async def token(self, token: str) -> Token | None:
        if not storable(token):
            return None
        row = await self._db.for_key(token).fetch_one(
            "SELECT application_id, account_id, scopes, created_at FROM tokens WHERE token = ?", (token,)
        )
        if row is None:
            return None
        return Token(token, row["application_id"], row["account_id"], tuple(row["scopes"].split()), row["created_at"])

    async def delete_token(self, token: str) -> bool:
        if not storable(token):
            return False
        return bool(await self._db.for_key(token).execute("DELETE FROM tokens WHERE token = ?", (token,)))

    async def delete_tokens_of(self, account_id: int) -> list[str]:
        deleted: list[str] = []
        for shard in self._db.shards:
            # One statement: a token issued meanwhile is either deleted and named, or kept.
            async with shard.transaction() as tx:
                rows = await tx.fetch_all("DELETE FROM tokens WHERE account_id = ? RETURNING token", (account_id,))
            deleted.extend(r["token"] for r in rows)
        return deleted

    async def insert_code(self, code: AuthorizationCode) -> None:
        await self._db.for_key(code.code).execute(
            "INSERT INTO authorization_codes (code, application_id, account_id, scopes,"
            " redirect_uri, expires_at, code_challenge, code_challenge_method)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (code.code, code.application_id, code.account_id, " ".join(code.scopes), code.redirect_uri,
             code.expires_at_ms, code.code_challenge, code.code_challenge_method),
        )

    async def code(self, code: str) -> AuthorizationCode | None:
        if not storable(code):
            return None
        row = await self._db.for_key(code).fetch_one("SELECT * FROM authorization_codes WHERE code = ?", (code,))
        if row is None:
            return None
        return AuthorizationCode(
            code=row["code"],
            application_id=row["application_id"],
            account_id=row["account_id"],
            scopes=tuple(row["scopes"].split()),
            redirect_uri=row["redirect_uri"],
            expires_at_ms=row["expires_at"],
            code_challenge=row["code_challenge"],
            code_challenge_method=row["code_challenge_method"],
        )

    async def consume_code(self, code: str) -> bool:
        if not storable(code):
            return False
        return await self._db.for_key(code).execute("DELETE FROM authorization_codes WHERE code = ?", (code,)) == 1
