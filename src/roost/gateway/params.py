"""Request parameters from the query string and the body (JSON, form or multipart),
with the typing rules real clients need (``1``/``true``/``True`` booleans, ``k[]`` arrays,
ids as strings). Wrong types are a 422 with Mastodon's error body, never a 500."""

from __future__ import annotations

import functools
import re
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from roost.domain.ids import parse_id
from roost.errors import BadRequest, Unprocessable
from roost.gateway import body
from roost.gateway.body import BodyLimits
from roost.services.text_input import refuse_nul

_INTEGER_RE = re.compile(r"-?[0-9]{1,18}")
_TRUE = {"1", "true", "t", "yes", "on"}
_FALSE = {"0", "false", "f", "no", "off", ""}


@functools.lru_cache(maxsize=4096)
def _parse_query(raw: bytes) -> tuple[tuple[str, str], ...]:
    # Memoised: clients repeat the same few query strings (limit=20, ...).
    return tuple(parse_qsl(raw.decode("latin-1"), keep_blank_values=True))


class Params:
    def __init__(self, values: dict[str, Any], query: list[tuple[str, str]] | None = None) -> None:
        self._values = values
        self.query = query or []  # the query string's pairs, in order (for Link headers)

    @classmethod
    async def from_request(cls, request: Request, limits: BodyLimits) -> Params:
        values: dict[str, Any] = {}
        raw_query = request.scope["query_string"]
        query = list(_parse_query(raw_query)) if raw_query else []
        for key, value in query:
            _add(values, key, value)
        if request.method in ("POST", "PUT", "PATCH", "DELETE"):
            content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if request.headers.get("content-length") == "0":
                return cls(values, query)
            if content_type == "multipart/form-data":
                for key, value in await body.parse_multipart(request, limits):
                    _add(values, key, value)
                return cls(values, query)
            # Read (within the limits) whatever the type, so an oversized body is refused alike.
            raw_body = await body.read(request, limits)
            if raw_body and content_type == "application/json":
                values.update(body.parse_json(raw_body))
            elif raw_body and content_type == "application/x-www-form-urlencoded":
                for key, value in body.parse_urlencoded(raw_body, limits.max_fields):
                    _add(values, key, value)
        return cls(values, query)

    def raw(self, name: str) -> Any:
        value = self._values.get(name)
        for item in value if isinstance(value, list) else (value,):
            if isinstance(item, str):
                refuse_nul(name, item)
        return value

    def __contains__(self, name: str) -> bool:
        return name in self._values

    def string(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        value = self._values.get(name)
        if value is None:
            if required:
                raise BadRequest(f"Missing required parameter: {name}")
            return default
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise Unprocessable(f"Validation failed: {name} must be a string")
        return refuse_nul(name, str(value))

    def required_str(self, name: str) -> str:
        value = self.string(name, required=True)
        assert value is not None
        return value

    def boolean(self, name: str, default: bool = False) -> bool:
        value = self._values.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        if isinstance(value, int):
            return value != 0
        if isinstance(value, str):
            lowered = value.strip().lower()
            if lowered in _TRUE:
                return True
            if lowered in _FALSE:
                return False
        raise Unprocessable(f"Validation failed: {name} must be a boolean")

    def integer(self, name: str, default: int | None = None) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return default
        if isinstance(value, bool):
            raise Unprocessable(f"Validation failed: {name} must be an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, str) and _INTEGER_RE.fullmatch(value.strip()):
            return int(value)
        raise Unprocessable(f"Validation failed: {name} must be an integer")

    def id(self, name: str) -> int | None:
        value = self._values.get(name)
        if value is None or value == "":
            return None
        parsed = parse_id(value)
        if parsed is None:
            raise Unprocessable(f"Validation failed: {name} is not a valid id")
        return parsed

    def strings(self, name: str) -> list[str]:
        value = self._values.get(name, self._values.get(name + "[]"))
        if value is None:
            return []
        if not isinstance(value, list):
            value = [value]
        out = []
        for item in value:
            if isinstance(item, bool) or not isinstance(item, (str, int)):
                raise Unprocessable(f"Validation failed: {name} must be a list of strings")
            out.append(refuse_nul(name, str(item)))
        return out


def _add(values: dict[str, Any], key: str, value: str) -> None:
    if key.endswith("[]"):
        values.setdefault(key[:-2], [])
        if isinstance(values[key[:-2]], list):
            values[key[:-2]].append(value)
        return
    # masto.js sends arrays as k[0]=..., k[1]=...
    if key.endswith("]") and "[" in key:
        base, _, index = key[:-1].partition("[")
        if index.isascii() and index.isdigit():
            values.setdefault(base, [])
            if isinstance(values[base], list):
                values[base].append(value)
            return
    values[key] = value
