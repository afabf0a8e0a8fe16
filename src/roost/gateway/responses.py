"""JSON responses encoded with orjson (the hot paths spend much of their time here)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response

_JSON = (b"content-type", b"application/json")


class JSONResponse(Response):
    """``content`` encoded with orjson, or sent as is if it is already JSON bytes.

    Its raw headers are built directly: Starlette's general header handling
    cost as much as a cheap route's own work.
    """

    media_type = "application/json"

    def __init__(self, content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> None:
        body = content if isinstance(content, bytes) else orjson.dumps(content)
        self.status_code = status_code
        self.body = body
        self.background = None
        raw = [(b"content-length", str(len(body)).encode()), _JSON]
        if headers:
            raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
        self.raw_headers = raw


def json_response(content: Any, status_code: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return JSONResponse(content, status_code, headers)
