"""/openapi.json, generated from the endpoint table so it always lists every route.

Response bodies are declared with the Mastodon entity schemas of
``openapi_components.json`` (derived from the community description of the
Mastodon API; see the file's header), so schema-checking tools (schemathesis,
jsonschema) can validate what roost answers. The document is OpenAPI 3.1, the
dialect those schemas are written in (nullable fields are type arrays).
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

from roost import __version__
from roost.gateway.endpoints import Endpoint, ResponseSchema

_KIND = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "boolean": {"type": "boolean"},
    "id": {"type": "string", "pattern": "^[0-9]{1,19}$"},
    "array": {"type": "array", "items": {"type": "string"}},
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}

# Bodies of roost's own (not Mastodon entities), declared inline.
TEXT: dict[str, Any] = {"type": "string"}
BINARY: dict[str, Any] = {"type": "string", "format": "binary"}
EMPTY_OBJECT: dict[str, Any] = {"type": "object", "maxProperties": 0}
OPENAPI_DOCUMENT: dict[str, Any] = {
    "type": "object", "required": ["openapi", "info", "paths", "components"],
    "properties": {"openapi": {"type": "string", "pattern": "^3\\."}},
}
READY: dict[str, Any] = {
    "type": "object",
    "required": ["status", "shape", "checks", "modules", "consumer_lag"],
    "properties": {
        "status": {"enum": ["ready", "not ready"]},
        "shape": {"type": "string"},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
        "modules": {"type": "object", "additionalProperties": {"type": "boolean"}},
        "consumer_lag": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
    },
}
NODEINFO_LINKS: dict[str, Any] = {
    "type": "object", "required": ["links"],
    "properties": {"links": {"type": "array", "items": {
        "type": "object", "required": ["rel", "href"],
        "properties": {"rel": {"type": "string"}, "href": {"type": "string", "format": "uri"}},
    }}},
}
NODEINFO: dict[str, Any] = {
    "description": "NodeInfo 2.0 (nodeinfo.diaspora.software/schema.html): the fields roost fills.",
    "type": "object",
    "required": ["version", "software", "protocols", "services", "usage", "openRegistrations", "metadata"],
    "properties": {
        "version": {"const": "2.0"},
        "software": {"type": "object", "required": ["name", "version"],
                     "properties": {"name": {"type": "string"}, "version": {"type": "string"}}},
        "protocols": {"type": "array", "items": {"type": "string"}},
        "services": {"type": "object", "required": ["inbound", "outbound"]},
        "usage": {"type": "object", "required": ["users"], "properties": {
            "users": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 0}},
            "localPosts": {"type": "integer", "minimum": 0},
        }},
        "openRegistrations": {"type": "boolean"},
        "metadata": {"type": "object"},
    },
}
_COMPONENTS = Path(__file__).with_name("openapi_components.json")
_REASONS = {
    302: "Redirect to the client's redirect URI",
    400: "Malformed request or missing parameter",
    401: "Missing, invalid or revoked token, or failed client authentication",
    403: "Not allowed: outside the token's scopes, or forbidden by a rule",
    404: "Record not found, or not visible to the caller",
    408: "The request body did not arrive in time",
    413: "Request body too large",
    422: "Validation failed",
    429: "Rate limited",
    503: "A backend is unavailable",
    507: "The server is out of storage space",
}


@functools.cache
def component_schemas() -> dict[str, Any]:
    """The entity schemas roost serves, by component name."""
    schemas: dict[str, Any] = json.loads(_COMPONENTS.read_text(encoding="utf-8"))["schemas"]
    return schemas


def response_schema(declared: ResponseSchema) -> dict[str, Any]:
    if declared is None:
        return {}  # not declared yet (see Endpoint.response)
    if isinstance(declared, str):
        return {"$ref": f"#/components/schemas/{declared}"}
    if isinstance(declared, list):
        (name,) = declared
        return {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}}
    return declared


def error_statuses(endpoint: Endpoint) -> list[int]:
    """The error statuses a route can answer with: those its auth rule, parameters and
    method imply, plus its own (``Endpoint.statuses``)."""
    codes = {429, 503}  # every route is rate-limited; any route may find a backend down
    if endpoint.params or endpoint.method != "GET":
        codes |= {400, 422}
    if endpoint.method != "GET":
        codes |= {408, 413, 507}  # a body that trickles or is too large; a full disk
    if endpoint.auth != "none":
        codes.add(401)  # "optional" too: a token that is sent must be valid
    if endpoint.scope or endpoint.auth in ("app", "user"):
        codes.add(403)
    if endpoint.auth == "user":
        codes.add(422)  # an app token on a route that needs a user
    if any(p.where == "path" for p in endpoint.params):
        codes.add(404)
    codes |= {c for c in endpoint.statuses if c >= 400}
    return sorted(codes)


# Which routes take the id of an entity in their path: the targets of OpenAPI links,
# which let stateful testers (schemathesis) feed a created or listed entity's id on.
_ENTITY_PATHS = {
    "Status": "/api/v1/statuses/{id}",
    "Account": "/api/v1/accounts/{id}",
    "CredentialAccount": "/api/v1/accounts/{id}",
    "Relationship": "/api/v1/accounts/{id}",
    "Notification": "/api/v1/notifications/{id}",
}


def _operation_id(endpoint: Endpoint) -> str:
    return endpoint.handler.__name__ + "_" + endpoint.method.lower()


def _links(endpoint: Endpoint, table: list[Endpoint]) -> dict[str, Any]:
    declared = endpoint.response
    name = declared[0] if isinstance(declared, list) else declared
    if not isinstance(name, str) or name not in _ENTITY_PATHS:
        return {}
    prefix = _ENTITY_PATHS[name]
    pointer = "$response.body#/0/id" if isinstance(declared, list) else "$response.body#/id"
    return {
        _operation_id(target): {"operationId": _operation_id(target), "parameters": {"path.id": pointer}}
        for target in table
        if openapi_path(target.path).startswith(prefix)
    }


def _responses(endpoint: Endpoint, table: list[Endpoint]) -> dict[str, Any]:
    success = response_schema(endpoint.response)
    out: dict[str, Any] = {
        "200": {"description": "Success", "content": {endpoint.content_type: {"schema": success}}},
    }
    links = _links(endpoint, table)
    if links:
        out["200"]["links"] = links
    for code in sorted(c for c in endpoint.statuses if c < 400):
        out[str(code)] = {"description": _REASONS.get(code, "Redirect")}
    html = endpoint.content_type == "text/html"
    for code in error_statuses(endpoint):
        content: dict[str, Any] = {"application/json": {"schema": ERROR_REF}}
        if html and code in endpoint.statuses:
            # The login page answers its own errors as a page, the gateway's as JSON.
            content["text/html"] = {"schema": {"type": "string"}}
        out[str(code)] = {"description": _REASONS.get(code, "Error"), "content": content}
    if endpoint.path == "/ready":
        # Not ready is reported with the readiness body itself, not an error body.
        out["503"] = {"description": "Not ready", "content": {"application/json": {"schema": success}}}
    return out


def _operation(endpoint: Endpoint, table: list[Endpoint]) -> dict[str, Any]:
    query = [p for p in endpoint.params if p.where in ("query", "path")]
    body = [p for p in endpoint.params if p.where == "body"]
    op: dict[str, Any] = {
        "summary": endpoint.summary,
        "operationId": _operation_id(endpoint),
        "tags": [endpoint.tag] if endpoint.tag else [],
        "parameters": [
            {"name": p.name, "in": p.where, "required": p.required or p.where == "path",
             "schema": _KIND[p.kind], "description": p.description}
            for p in query
        ],
        "responses": _responses(endpoint, table),
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


def openapi_path(path: str) -> str:
    return re.sub(r"\{(\w+)(:\w+)?\}", r"{\1}", path)


def build_openapi(base_url: str) -> dict[str, Any]:
    from roost.gateway.routes import TABLE

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in TABLE.endpoints:
        paths.setdefault(openapi_path(endpoint.path), {})[endpoint.method.lower()] = _operation(endpoint, TABLE.endpoints)
    return {
        "openapi": "3.1.0",
        "info": {"title": "roost (Mastodon client API)", "version": __version__},
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {
            "schemas": component_schemas(),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }
