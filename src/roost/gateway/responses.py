"""JSON responses encoded with orjson (the hot paths spend much of their time here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


def json_response(content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """``content`` encoded, or sent as is if it is already JSON bytes."""
    body = content if isinstance(content, bytes) else orjson.dumps(content)
    return Response(body, status_code, headers=headers, media_type="application/json")
