"""The endpoint table: every route with its method, auth rule, scope and documented
parameters. Routes and /openapi.json are both generated from it, so they cannot drift."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from starlette.responses import Response

if TYPE_CHECKING:
    from roost.gateway.context import Call

Auth = Literal["none", "optional", "app", "user"]
# Which Settings field caps a route's request body (see roost.gateway.body).
BodyLimit = Literal["max_body_bytes", "max_auth_body_bytes", "max_media_body_bytes"]
Handler = Callable[["Call"], Awaitable[Response]]


@dataclass(frozen=True)
class Param:
    name: str
    kind: str = "string"  # string | integer | boolean | id | array
    where: Literal["query", "body", "path"] = "query"
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    auth: Auth = "none"
    scope: str | None = None
    params: tuple[Param, ...] = ()
    tag: str = ""
    # Clients call some paths with a trailing slash (Mastodon.py: /api/v1/instance/).
    trailing_slash: bool = False
    content_type: str = "application/json"
    # Named rather than a number so that the limit stays a setting: media routes
    # set "max_media_body_bytes", the unauthenticated forms "max_auth_body_bytes".
    body_limit: BodyLimit = "max_body_bytes"


@dataclass
class EndpointTable:
    endpoints: list[Endpoint] = field(default_factory=list)

    def add(
        self, method: str, path: str, summary: str, *, auth: Auth = "none", scope: str | None = None,
        params: tuple[Param, ...] = (), tag: str = "", trailing_slash: bool = False,
        content_type: str = "application/json", body_limit: BodyLimit = "max_body_bytes",
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method, path, handler, summary, auth, scope, params, tag, trailing_slash, content_type,
                         body_limit)
            )
            return handler

        return register


PAGE_PARAMS = (
    Param("max_id", "id", description="Return results older than this id"),
    Param("since_id", "id", description="Return results newer than this id"),
    Param("min_id", "id", description="Return results immediately newer than this id"),
    Param("limit", "integer", description="Maximum number of results (clamped)"),
)
