"""Every error leaves the gateway in Mastodon's shape: ``{"error": "..."}`` (+ extras)."""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

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
    return json_response(error_body(message), exc.status_code)


async def unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled error on %s %s", request.method, request.url.path)
    return json_response(error_body("Internal server error"), 500)
