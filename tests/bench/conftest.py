"""A tiny local HTTP server for the harness's own tests (no roost server needed).

Tests are plain functions calling ``asyncio.run``; the server starts inside
that loop with ``async with tiny_server() as server``.
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType, TracebackType

import pytest


@dataclass
class TinyServer:
    """asyncio HTTP/1.1 keep-alive server: 200 and a small JSON body for everything."""

    delay_s: float = 0.0
    host: str = "127.0.0.1"
    port: int = 0
    requests: int = 0
    paths: list[str] = field(default_factory=list)
    auths: list[str] = field(default_factory=list)
    _server: asyncio.Server | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    async def __aenter__(self) -> TinyServer:
        self._server = await asyncio.start_server(self._handle, self.host, 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                auth = ""
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                    elif line.lower().startswith(b"authorization:"):
                        auth = line.split(b":", 1)[1].strip().decode()
                if length:
                    await reader.readexactly(length)
                self.requests += 1
                self.paths.append(head.split(b" ", 2)[1].decode())
                self.auths.append(auth)
                if self.delay_s:
                    await asyncio.sleep(self.delay_s)
                body = b'{"ok":true}'
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
def tiny_server() -> type[TinyServer]:
    return TinyServer


BENCH_DIR = Path(__file__).resolve().parents[2] / "bench"


def load_bench_script(monkeypatch: pytest.MonkeyPatch, file_name: str) -> ModuleType:
    """A script of bench/ (not a package) imported afresh under a test-only module name."""
    name = f"{Path(file_name).stem}_under_test"
    spec = importlib.util.spec_from_file_location(name, BENCH_DIR / file_name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module
