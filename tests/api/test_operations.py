"""/openapi.json lists every route of the endpoint table; /health and /ready behave."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from roost.gateway.routes import TABLE

from .harness import Server, running_server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("ops")) as server:
        yield server


@pytest.fixture(scope="module")
def document(srv: Server) -> dict[str, Any]:
    r = srv.client.get("/openapi.json")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/json")
    return r.json()  # type: ignore[no-any-return]


def test_openapi_structure(document: dict[str, Any]) -> None:
    assert re.fullmatch(r"3\.1\.\d+", document["openapi"])
    assert document["info"]["title"] and document["info"]["version"]
    assert isinstance(document["paths"], dict) and document["paths"]
    for path, item in document["paths"].items():
        assert path.startswith("/")
        for method, op in item.items():
            assert method in {"get", "post", "put", "patch", "delete"}
            assert op["responses"], (path, method)
            for code in op["responses"]:
                assert code == "default" or re.fullmatch(r"[1-5]\d\d", code)
            names = [p["name"] for p in op.get("parameters", [])]
            assert len(names) == len(set(names)), (path, method)
            for p in op.get("parameters", []):
                assert p["in"] in {"query", "path", "header", "cookie"}
                assert "schema" in p
                if p["in"] == "path":
                    assert p["required"] is True and "{" + p["name"] + "}" in path
            for placeholder in re.findall(r"\{(\w+)\}", path):
                assert placeholder in names, (path, method, placeholder)
    schemes = document.get("components", {}).get("securitySchemes", {})
    for item in document["paths"].values():
        for op in item.values():
            for requirement in op.get("security", []):
                assert set(requirement) <= set(schemes)


@pytest.mark.parametrize("endpoint", TABLE.endpoints, ids=lambda e: f"{e.method} {e.path}")
def test_openapi_lists_every_route(document: dict[str, Any], endpoint: Any) -> None:
    assert endpoint.method.lower() in document["paths"].get(endpoint.path, {}), endpoint.path


def test_openapi_marks_authentication(document: dict[str, Any]) -> None:
    for e in TABLE.endpoints:
        op = document["paths"][e.path][e.method.lower()]
        if e.auth in ("user", "app"):
            assert op.get("security") and {} not in op["security"], e.path


def test_health(srv: Server) -> None:
    r = srv.client.get("/health")
    assert r.status_code == 200 and r.text.strip().upper() == "OK"


def test_ready(srv: Server) -> None:
    r = srv.client.get("/ready")
    assert r.status_code == 200
    body = r.json()
    assert body["checks"] and all(v == "ok" for v in body["checks"].values())
    assert {"storage", "log"} <= set(body["checks"])

