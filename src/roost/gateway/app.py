"""The gateway: the Mastodon API edge, as one Starlette app built from the endpoint table.

Per request it parses parameters, authenticates the bearer token once,
checks scopes and rate limits, and calls the handler; errors leave in
Mastodon's ``{"error": ...}`` shape.
"""

from __future__ import annotations

import gc
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route
from starlette.types import Receive, Scope, Send

from roost.domain.entities import Identity
from roost.domain.scopes import allows
from roost.errors import Forbidden, RateLimited, RoostError, Unauthorized, Unprocessable
from roost.gateway import errors
from roost.gateway.body import BodyLimits
from roost.gateway.client_address import (
    ClientAddressResolver,
    client_address,
    parse_networks,
    throttle_key,
)
from roost.gateway.context import Call
from roost.gateway.endpoints import Endpoint
from roost.gateway.metrics import BuildingBlocks, HttpMetrics
from roost.gateway.params import Params
from roost.gateway.ratelimit import FixedWindowLimiter, is_loopback
from roost.gateway.routes import TABLE
from roost.gateway.serializers import Serializer
from roost.runtime import container as runtime
from roost.runtime.read_your_writes import ON_PRIMARIES, ReadYourWrites
from roost.settings import Settings

logger = logging.getLogger("roost.gateway")
GC_THRESHOLDS = (50_000, 20, 50)
# Where passwords (and client secrets, codes) are checked: limited per address apart.
CREDENTIAL_PATHS = frozenset({"/oauth/token", "/oauth/authorize"})


def freeze_survivors(phase: str, info: dict[str, int]) -> None:
    """After a full collection, move what survived out of the collector's view.

    The caches fill up with long-lived records after start; every full
    collection would scan them all again (measured: ~100 ms per 100k objects
    here, which showed as half-second stalls under load). Frozen objects are
    still freed by reference counting when evicted; only cycles among them
    would outlive their use, and cached records hold none.
    """
    if phase == "stop" and info.get("generation") == 2:
        gc.freeze()


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.container: runtime.Container | None = None
        self.serializer = Serializer(settings.base_url, settings.render_cache_seconds, settings.page_memo_pages)
        self.per_token = FixedWindowLimiter(settings.rate_limit_per_token, settings.rate_limit_window_seconds,
                                            name="api")
        self.per_ip = FixedWindowLimiter(settings.rate_limit_unauthenticated, settings.rate_limit_window_seconds,
                                         name="unauthenticated")
        self.registrations = FixedWindowLimiter(settings.registrations_per_ip, settings.registrations_window_seconds,
                                                name="registrations")
        self.client_addresses = ClientAddressResolver(parse_networks(settings.trusted_proxies))
        # Credential guessing gets its own per-address budget, so a flood of it neither
        # rides on nor uses up the general one that reads draw on.
        self.logins = FixedWindowLimiter(settings.login_attempts_per_ip, settings.login_attempts_window_seconds,
                                         name="logins")
        self.registry = CollectorRegistry()
        self.http_metrics = HttpMetrics(self.registry)
        self.building_blocks = BuildingBlocks(self)
        self.registry.register(self.building_blocks)
        self.read_your_writes: ReadYourWrites | None = None

    def route(self, endpoint: Endpoint) -> Any:
        observe = self.http_metrics.observe
        limits = BodyLimits.for_route(self.settings, getattr(self.settings, endpoint.body_limit))

        async def call(request: Request) -> Response:
            started = time.perf_counter()
            status = 500
            try:
                response = await self.handle(endpoint, request, limits)
                status = response.status_code
                return response
            except RoostError as exc:
                status = exc.status_code
                raise
            finally:
                observe(endpoint.method, endpoint.path, status, started)

        call.__name__ = endpoint.handler.__name__
        return call

    async def handle(self, endpoint: Endpoint, request: Request, limits: BodyLimits) -> Response:
        container = self.container
        assert container is not None
        self.client_addresses.remember(request.scope)
        identity = None
        fresh_token = False
        if endpoint.auth != "none":
            try:
                token = _bearer(request)
                if token is not None:
                    identity, fresh_token = await self._identify(container, token)
            except Unauthorized:
                # Token guessing counts against the caller's unauthenticated limit.
                await self._rate_limit(endpoint, request, None)
                raise
        if endpoint.auth in ("app", "user") and identity is None:
            await self._rate_limit(endpoint, request, None)
            raise Unauthorized()
        rate_headers = await self._rate_limit(endpoint, request, identity.token if identity else None)
        try:
            if endpoint.auth == "user" and identity is not None and identity.account_id is None:
                raise Unprocessable("This method requires an authenticated user")
            if endpoint.scope and identity is not None and not allows(identity.scopes, endpoint.scope):
                raise Forbidden("This action is outside the authorized scopes")
            params = await Params.from_request(request, limits)
            call = Call(request, params, identity, container, self.serializer)
            sessions = self.read_your_writes
            if sessions is None:
                response = await endpoint.handler(call)
            else:
                on_primaries = fresh_token or (endpoint.method, endpoint.path) in ON_PRIMARIES
                async with sessions.around(identity, on_primaries=on_primaries):
                    response = await endpoint.handler(call)
        except RoostError as exc:
            if rate_headers:
                exc.extra["headers"] = {**rate_headers, **exc.extra.get("headers", {})}
            raise
        if rate_headers:
            response.headers.update(rate_headers)
        return response

    async def _identify(self, container: runtime.Container, token: str) -> tuple[Identity, bool]:
        """The token's identity, and whether it had to be looked up on the primaries."""
        try:
            return await container.oauth_service.identify(token), False
        except Unauthorized:
            if self.read_your_writes is None:
                raise
        # Issued a moment ago, it may not have reached the replica asked yet.
        with self.read_your_writes.on_primaries():
            return await container.oauth_service.identify(token), True

    def use_storage(self, container: runtime.Container) -> None:
        """Read-your-writes sessions and the storage family's own metrics (the cluster shape)."""
        self.read_your_writes = container.extras.get("read_your_writes")
        for collector in container.extras.get("storage_collectors", ()):
            self.registry.register(collector)

    def share_rate_limits(self, container: runtime.Container) -> None:
        """Count against the deployment's shared counters when it has them (issue #9)."""
        backends = container.backends
        if backends is not None and backends.rate_limits is not None:
            for limiter in (self.per_token, self.per_ip, self.registrations, self.logins):
                limiter.store = backends.rate_limits

    async def _rate_limit(self, endpoint: Endpoint, request: Request, token: str | None) -> dict[str, str]:
        client = client_address(request.scope)
        if self.settings.rate_limit_exempt_loopback and is_loopback(client):
            return {}
        if endpoint.method == "POST" and endpoint.path == "/api/v1/accounts":
            decision = await self.registrations.hit(f"ip:{throttle_key(client)}")
        elif endpoint.method == "POST" and endpoint.path in CREDENTIAL_PATHS:
            decision = await self.logins.hit(f"ip:{throttle_key(client)}")
        elif token is not None:
            decision = await self.per_token.hit(f"token:{token}")
        else:
            decision = await self.per_ip.hit(f"ip:{throttle_key(client)}")
        headers = decision.headers()
        if not decision.allowed:
            raise RateLimited(headers={**headers, "Retry-After": decision.retry_after()})
        return headers


def _bearer(request: Request) -> str | None:
    # From the raw ASGI headers (names arrive lower-cased): building Starlette's
    # Headers for one lookup cost more than the lookup.
    raw: list[tuple[bytes, bytes]] = request.scope["headers"]
    header = next((v.decode("latin-1") for k, v in raw if k == b"authorization"), None)
    if header:
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            return value.strip()
        raise Unauthorized()
    token = request.query_params.get("access_token")
    return token or None


def build_routes(gateway: Gateway) -> tuple[list[BaseRoute], dict[tuple[str, str], RequestHandler]]:
    routes: list[BaseRoute] = []
    static: dict[tuple[str, str], RequestHandler] = {}
    for endpoint in TABLE.endpoints:
        handler = gateway.route(endpoint)
        paths = [endpoint.path, endpoint.path + "/"] if endpoint.trailing_slash else [endpoint.path]
        for path in paths:
            routes.append(Route(path, handler, methods=[endpoint.method]))
            if "{" not in path:
                static[(endpoint.method, path)] = handler
    return routes, static


RequestHandler = Callable[[Request], Awaitable[Response]]


class ExactPathDispatch:
    """Serves routes without path parameters from a dict, in front of Starlette.

    Starlette tries routes one regex at a time; with ~50 routes that cost about a
    third of a home-timeline request here. Parameterised routes, lifespan, 404
    and 405 still go through Starlette.
    """

    def __init__(self, app: Starlette, static: dict[tuple[str, str], RequestHandler]) -> None:
        self.app = app
        self.static = static
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            handler = self.static.get((scope["method"], scope["path"]))
            if handler is not None:
                request = Request(scope, receive)
                try:
                    response = await handler(request)
                except RoostError as exc:
                    response = await errors.roost_error(request, exc)
                except Exception as exc:
                    response = await errors.unexpected_error(request, exc)
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None, targets: tuple[str, ...] = ("all",)) -> ExactPathDispatch:
    settings = settings or Settings.from_env()
    gateway = Gateway(settings)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        gateway.container = await runtime.start(settings, targets)
        gateway.container.extras["gateway"] = gateway
        gateway.share_rate_limits(gateway.container)
        gateway.use_storage(gateway.container)
        # Everything built so far lives as long as the process: keep it out of the
        # collector's view, and collect the young generation less often, since the
        # caches hold hundreds of thousands of long-lived objects.
        gc.collect()
        gc.freeze()
        gc.set_threshold(*GC_THRESHOLDS)
        if freeze_survivors not in gc.callbacks:
            gc.callbacks.append(freeze_survivors)
        app.state.container = gateway.container
        try:
            yield
        finally:
            await runtime.stop(gateway.container)
            # Hand everything back to the collector (tests start many apps in one process).
            if freeze_survivors in gc.callbacks:
                gc.callbacks.remove(freeze_survivors)
            gc.unfreeze()

    routes, static = build_routes(gateway)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={
            RoostError: errors.roost_error,
            HTTPException: errors.http_error,
            Exception: errors.unexpected_error,
        },
    )
    app.state.gateway = gateway
    return ExactPathDispatch(app, static)
