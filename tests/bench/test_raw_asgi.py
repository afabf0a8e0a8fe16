"""bench/raw_asgi.py: the load generator's ceiling app, and its saved-body mode."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from .conftest import load_bench_script


def load(monkeypatch: pytest.MonkeyPatch, body_file: Path | None) -> ModuleType:
    if body_file is None:
        monkeypatch.delenv("RAW_ASGI_BODY", raising=False)
    else:
        monkeypatch.setenv("RAW_ASGI_BODY", str(body_file))
    return load_bench_script(monkeypatch, "raw_asgi.py")


def get(module: ModuleType, path: str) -> tuple[dict[bytes, bytes], bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(module.app({"type": "http", "path": path}, receive, send))
    start, body = sent
    return dict(start["headers"]), body["body"]


def test_answers_every_path_with_the_probe_body(monkeypatch: pytest.MonkeyPatch) -> None:
    module = load(monkeypatch, None)
    for path in ("/health", "/ready", "/api/v1/timelines/home"):
        headers, body = get(module, path)
        assert body == b'{"status":"ok","shape":"raw-asgi"}'
        assert headers[b"content-length"] == str(len(body)).encode()


def test_saved_body_everywhere_but_ready(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    page = tmp_path / "home.json"
    page.write_bytes(b'[{"id":"1","content":"' + b"x" * 30_000 + b'"}]')
    module = load(monkeypatch, page)
    headers, body = get(module, "/api/v1/timelines/home")
    assert body == page.read_bytes()
    assert headers[b"content-length"] == str(len(body)).encode()
    # /ready still names the shape, so `roost bench` files its figures as raw ASGI.
    _, ready = get(module, "/ready")
    assert b'"shape":"raw-asgi"' in ready
