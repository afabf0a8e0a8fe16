"""/openapi.json, generated from the endpoint table so it always lists every route."""

from __future__ import annotations

import re
from typing import Any

from roost import __version__
from roost.gateway.endpoints import Endpoint

_KIND = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "id": {"type": "string", "pattern": "^[0-9]{1,19}$"},
    "array": {"type": "array", "items": {"type": "string"}},
}
ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
}


def _operation(endpoint: Endpoint) -> dict[str, Any]:
    query = [p for p in endpoint.params if p.where in ("query", "path")]
    body = [p for p in endpoint.params if p.where == "body"]
    op: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": endpoint.handler.__name__ + "_" + endpoint.method.lower(),
        "tags": [endpoint.tag] if endpoint.tag else [],
        "parameters": [
            {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
             "schema": _KIND[p.kind], "description": p.description}
            for p in query
        ],
        "responses": {
            "200": {"description": "Success", "content": {endpoint.content_type: {"schema": {}}}},
            "default": {"description": "Error", "content": {"application/json": {"schema": ERROR_SCHEMA}}},
        },
    }
    if body:
        schema = {
            "type": "object",
            "properties": {p.name: _KIND[p.kind] for p in body},
            "required": [p.name for p in body if p.required],
        }
        op["requestBody"] = {"content": {
            "application/json": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": schema},
        }}
    if endpoint.auth in ("app", "user"):
        op["security"] = [{"bearer": [endpoint.scope] if endpoint.scope else []}]
    elif endpoint.auth == "optional":
        op["security"] = [{}, {"bearer": [endpoint.scope] if endpoint.scope else []}]
    return op


def build_openapi(base_url: str) -> dict[str, Any]:
    from roost.gateway.routes import TABLE

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in TABLE.endpoints:
        path = re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", endpoint.path)
        paths.setdefault(path, {})[endpoint.method.lower()] = _operation(endpoint)
    return {
        "openapi": "3.1.0",
        "info": {"title": "roost (Mastodon client API)", "version": __version__},
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
