"""An in-process roost server for API tests, plus the helpers every API test module shares.

The app runs under starlette's TestClient (its lifespan starts every component,
including the log consumers as background tasks). Set-up that is not itself
under test (many accounts, tokens with chosen scopes) goes straight to the
services through the client's event-loop portal, which skips argon2 and keeps
the suite fast; everything under test goes through HTTP.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import os
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from roost.adapters.postgres.database import PgDatabase
from roost.gateway.app import create_app
from roost.settings import Settings

from .shapes import EMBEDDED, Shape

BASE_URL = "http://testserver"
ALL_SCOPES = "read write follow push"
# TestClient's peer is "testclient", which is not loopback, so the limits apply: make them roomy.
GENEROUS_LIMITS: dict[str, Any] = {
    "rate_limit_per_token": 1_000_000,
    "rate_limit_unauthenticated": 1_000_000,
    "registrations_per_ip": 1_000_000,
    "login_attempts_per_ip": 1_000_000,
}
# Tables whose row counts (and counters) a rejected request must leave untouched.
_TABLES = (
    "accounts", "account_directory", "following", "followers", "applications", "application_ids",
    "tokens", "authorization_codes", "statuses", "status_replies", "reblogs", "favourites",
    "account_favourites", "notifications", "idempotency_keys", "outbox", "follow_requests",
)
_COUNT_ALL = " UNION ALL ".join(f"SELECT '{t}' AS t, COUNT(*) AS n FROM {t}" for t in _TABLES)
# Sums of counters and of profile fields, in SQL both families run (SQLite and PostgreSQL).
_SUMS = {
    "accounts": ("statuses_count", "followers_count", "following_count",
                 "length(display_name) + length(note) + CAST(locked AS INTEGER) + CAST(bot AS INTEGER)"),
    "statuses": ("favourites_count", "reblogs_count", "replies_count"),
}


@dataclass
class User:
    id: str
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Server:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        app = self.create_app_credentials()
        self.client_id: str = app["client_id"]
        self.client_secret: str = app["client_secret"]
        self._app = self.call(self.container.oauth.app_by_client_id, self.client_id)

    # -- plumbing ------------------------------------------------------------------------

    @property
    def container(self) -> Any:
        return self.client.app.state.container  # type: ignore[attr-defined]

    @property
    def settings(self) -> Settings:
        return self.container.settings  # type: ignore[no-any-return]

    @property
    def on_postgres(self) -> bool:
        """The cluster shape: the store is PostgreSQL (SQL in tests must suit it)."""
        return isinstance(self.container.backends.db, PgDatabase)

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``fn`` (sync or async) on the app's event loop and return its result.

        On the cluster shape it reads from the primaries, as the gateway makes its registration
        and token routes do: set-up that skips the gateway must not read a replica that has not
        replayed the write it just made (a new account not found)."""
        work = functools.partial(fn, *args, **kwargs)
        sessions = self.container.extras.get("read_your_writes")
        if sessions is None:
            return self.client.portal.call(work)  # type: ignore[union-attr]

        async def on_primaries() -> Any:
            with sessions.on_primaries():
                result = work()
                return await result if inspect.isawaitable(result) else result

        return self.client.portal.call(on_primaries)  # type: ignore[union-attr]

    def drain(self, timeout: float = 5.0) -> None:
        """Wait until every log consumer has committed everything appended so far."""

        async def lag() -> int:
            return sum([await c.lag() for c in self.container.consumers.values()])

        wait_until(lambda: self.call(lag) == 0, timeout, "log consumers to catch up")

    # -- accounts and tokens ---------------------------------------------------------------

    def create_app_credentials(self, scopes: str = ALL_SCOPES) -> dict[str, Any]:
        r = self.client.post("/api/v1/apps", data={
            "client_name": "roost tests", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": scopes,
        })
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def app_token(self, scope: str = ALL_SCOPES) -> str:
        r = self.client.post("/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self.client_id,
            "client_secret": self.client_secret, "scope": scope,
        })
        assert r.status_code == 200, r.text
        return r.json()["access_token"]  # type: ignore[no-any-return]

    def register(self, username: str, password: str = "correct horse battery") -> User:
        """A real registration through the API (argon2: ~50 ms)."""
        r = self.client.post(
            "/api/v1/accounts",
            headers={"Authorization": f"Bearer {self.app_token()}"},
            data={"username": username, "email": f"{username}@example.com", "password": password,
                  "agreement": "1", "locale": "en"},
        )
        assert r.status_code == 200, r.text
        token = r.json()["access_token"]
        me = self.client.get("/api/v1/accounts/verify_credentials", headers=_bearer(token)).json()
        return User(me["id"], username, token)

    def quick_user(self, username: str, scopes: str = ALL_SCOPES) -> User:
        """An account made through the service (no password hashing) with a token."""
        accounts = self.container.accounts
        account = self.call(
            accounts.register, username, f"{username}@example.com", password_hash="$not-a-hash$"
        )
        return User(str(account.id), username, self.token_for(str(account.id), scopes))

    def token_for(self, account_id: str | None, scopes: str) -> str:
        issued = self.call(
            self.container.oauth.issue, self._app, None if account_id is None else int(account_id),
            tuple(scopes.split()),
        )
        return issued.token  # type: ignore[no-any-return]

    # -- content ---------------------------------------------------------------------------

    def post(self, user: User, text: str, **fields: Any) -> dict[str, Any]:
        r = self.client.post("/api/v1/statuses", headers=user.headers, json={"status": text, **fields})
        assert r.status_code == 200, r.text
        return r.json()  # type: ignore[no-any-return]

    def follow(self, user: User, target: User) -> None:
        r = self.client.post(f"/api/v1/accounts/{target.id}/follow", headers=user.headers)
        assert r.status_code == 200, r.text

    def get(self, path: str, user: User | None = None, **params: Any) -> Any:
        r = self.client.get(path, headers=user.headers if user else {}, params=params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    # -- what is stored ---------------------------------------------------------------------

    def fingerprint(self) -> dict[str, Any]:
        """Row counts and counters over every shard, plus the log's append count."""

        async def collect() -> dict[str, Any]:
            out: dict[str, Any] = {}
            for number, shard in enumerate(self.container.backends.db.shards):
                # In a unit of work: on the primary, where a replica's lag cannot hide a change.
                async with shard.transaction() as tx:
                    for row in await tx.fetch_all(_COUNT_ALL):  # one round trip for every table
                        out[f"{number}:{row['t']}"] = row["n"]
                    for table, columns in _SUMS.items():
                        sums = ", ".join(f"COALESCE(SUM({c}), 0) AS s{i}" for i, c in enumerate(columns))
                        row = await tx.fetch_one(f"SELECT {sums} FROM {table}")
                        out[f"{number}:{table}:sums"] = tuple(row[f"s{i}"] for i in range(len(columns)))
            out["log.appended"] = self.container.backends.log.appended
            return out

        self.drain()
        return self.call(collect)  # type: ignore[no-any-return]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.005)


# The API suite on Redis shared state (issue #9): ROOST_TEST_REDIS_URL=redis://... pytest tests/api
# (each server starts on an emptied Redis, but for the worker-id leases of servers still running).
TEST_REDIS_URL = os.environ.get("ROOST_TEST_REDIS_URL", "")


@contextlib.contextmanager
def running_server(data_dir: Path, client_host: str = "testclient", shape: Shape = EMBEDDED,
                   **overrides: Any) -> Iterator[Server]:
    """A started app on ``data_dir``; on the cluster shape, also on a fresh store of its own."""
    with contextlib.ExitStack() as stack:
        if shape.engines is not None:
            overrides = {**stack.enter_context(shape.engines.fresh_store()), **overrides}
        server = stack.enter_context(_running_app(data_dir, client_host, **overrides))
        if shape.engines is not None:
            # Never a silent fallback: a "cluster" case that ran on SQLite would prove nothing.
            assert server.on_postgres, f"the cluster shape opened {server.container.backends.db!r}"
        yield server


@contextlib.contextmanager
def _running_app(data_dir: Path, client_host: str, **overrides: Any) -> Iterator[Server]:
    if TEST_REDIS_URL and "redis_url" not in overrides and "cluster_config" not in overrides:
        import redis

        with redis.Redis.from_url(TEST_REDIS_URL) as shared:
            stale = [k for k in shared.scan_iter(count=1000) if not k.startswith(b"roost:worker:")]
            for start in range(0, len(stale), 1000):
                shared.delete(*stale[start : start + 1000])
        overrides["redis_url"] = TEST_REDIS_URL
    settings = Settings(data_dir=data_dir, public_url=BASE_URL, **{**GENEROUS_LIMITS, **overrides})
    app = create_app(settings)
    with TestClient(app, raise_server_exceptions=False, client=(client_host, 50000)) as client:
        yield Server(client)


# -- Link headers ----------------------------------------------------------------------------

_LINK_RE = re.compile(r'<([^>]+)>;\s*rel="(\w+)"')


def links(response: Any) -> dict[str, str]:
    """rel -> URL from a Link header ({} when there is none)."""
    header = response.headers.get("link")
    if not header:
        return {}
    return {rel: url for url, rel in _LINK_RE.findall(header)}


def assert_error(response: Any, status: int, message: str | None = None) -> dict[str, Any]:
    """Mastodon's error shape: the status, a JSON body with an ``error`` string, JSON content type."""
    assert response.status_code == status, (response.status_code, response.text[:300])
    assert response.headers["content-type"].split(";")[0] == "application/json", response.headers
    body = response.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"], body
    if message is not None:
        assert body["error"] == message, body
    return body  # type: ignore[no-any-return]


@dataclass
class Audience:
    """Named users of one server, plus "anon" (no token): the access tests' world.
    Subclasses add what each test module records (status ids by name, ...)."""

    srv: Server
    users: dict[str, User]
    ids: dict[str, str] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "anon" else self.users[who].headers

    def get(self, path: str, who: str, **params: Any) -> Any:
        return self.srv.client.get(path, headers=self.headers(who), params=params)

    def post(self, path: str, who: str, **data: Any) -> Any:
        return self.srv.client.post(path, headers=self.headers(who), data=data)
