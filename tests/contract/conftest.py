"""Contract suites: one per port, run against every adapter family.

``family`` yields started backends of one family on a fresh store: every test in
``tests/contract/`` runs once per family. The embedded family is always here; a
real-engine family (PostgreSQL, Redis) joins the parameter list when its adapter
exists, starting its engines through ``roost.cluster`` on spare loopback ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from roost.cluster import binaries
from roost.cluster.scratch_redis import RedisServer, scratch_redis
from roost.runtime.backends import close, open_embedded
from roost.runtime.container import MIGRATIONS
from roost.services.context import Backends
from roost.settings import Settings

T = TypeVar("T")
FAMILIES = ["embedded"]


@asynccontextmanager
async def open_family(name: str, root: Path) -> AsyncIterator[Backends]:
    """Backends of family ``name`` on a fresh store under ``root``, migrated."""
    if name != "embedded":
        raise ValueError(f"unknown adapter family {name!r}")
    backends = open_embedded(Settings(data_dir=root, physical_shards=2, logical_shards=64))
    await backends.db.migrate(MIGRATIONS)
    try:
        yield backends
    finally:
        await close(backends)


class Family:
    """One adapter family under test; ``run`` drives a coroutine on a fresh store."""

    def __init__(self, name: str, root: Path) -> None:
        self.name = name
        self.root = root
        self._opened = 0

    def run(self, work: Callable[[Backends], Coroutine[Any, Any, T]]) -> T:
        async def main() -> T:
            async with open_family(self.name, self.root) as backends:
                return await work(backends)

        return asyncio.run(main())

    def restart_run(self, *steps: Callable[[Backends], Coroutine[Any, Any, Any]]) -> list[Any]:
        """Each step on the same store, reopened between steps (a restart)."""
        return [self.run(step) for step in steps]


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Family]:
    yield Family(request.param, tmp_path)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server for the session, on a spare loopback port, stopped by PID.
    Tests get it empty through ``redis_fresh``; they open their own asyncio clients."""
    try:
        binaries.redis_server()
    except binaries.EnginesMissing as exc:
        pytest.skip(f"{exc} (`make engines` installs it)")
    with scratch_redis() as server:
        yield server


@pytest.fixture
def redis_fresh(redis_server: RedisServer) -> RedisServer:
    redis_server.flush()
    return redis_server
