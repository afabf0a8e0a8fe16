"""Every error leaves the gateway in Mastodon's shape: ``{"error": "..."}`` (+ extras)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match

from roost.errors import RoostError
from roost.gateway.responses import json_response

logger = logging.getLogger("roost.gateway")


def error_body(message: str, **extra: Any) -> dict[str, Any]:
    return {"error": message, **extra}


async def roost_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RoostError)
    headers = exc.extra.pop("headers", None) if isinstance(exc.extra.get("headers"), dict) else None
    return json_response(error_body(exc.message, **exc.extra), exc.status_code, headers=headers)


_HTTP_MESSAGES = {404: "Record not found", 405: "Method not allowed"}


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = _HTTP_MESSAGES.get(exc.status_code, str(exc.detail))
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return json_response(error_body(message), exc.status_code, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path. Starlette's 405 names only the
    first route that matched the path, and each of our routes has one method."""
    methods: set[str] = set()
    app = request.scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", ()):
        route_methods = getattr(route, "methods", None)
        if route_methods and route.matches(request.scope)[0] is not Match.NONE:
            methods.update(route_methods)
    return sorted(methods)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return json_response(error_body("Internal server error"), 500)
