"""Contract suites: one per port, run against every adapter family.

``family`` yields started backends of one family on a fresh store: every test in
``tests/contract/`` runs once per family. The embedded family is always here; a
real-engine family (PostgreSQL, Redis) joins the parameter list when its adapter
exists, starting its engines through ``roost.cluster`` on spare loopback ports.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest

from roost.cluster import binaries
from roost.cluster.scratch_redis import RedisServer, scratch_redis
from roost.runtime.backends import MIGRATIONS, close, open_embedded
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

    def run_pair(self, work: Callable[[Backends, Backends], Coroutine[Any, Any, T]]) -> T:
        """``work`` with two backends open on the same store at once, as two processes
        would have it (no lock of one object serialises the other)."""

        async def main() -> T:
            async with open_family(self.name, self.root) as first, open_family(self.name, self.root) as second:
                return await work(first, second)

        return asyncio.run(main())

    def run_at_once(self, *works: Callable[[Backends], Coroutine[Any, Any, T]]) -> list[T]:
        """Each work on its own backends opened on the same (already migrated) store, in
        its own thread and event loop, all started together once every one is open: like
        separate processes, nothing process-local (no asyncio lock, no shared object)
        keeps them apart; only the store does. Their results, in order."""
        self.run(_nothing)  # migrate first: two openers must not both create the schema
        start = threading.Barrier(len(works))

        def one(work: Callable[[Backends], Coroutine[Any, Any, T]]) -> T:
            async def main() -> T:
                async with open_family(self.name, self.root) as backends:
                    start.wait(timeout=60)
                    return await work(backends)

            try:
                return asyncio.run(main())
            except BaseException:
                start.abort()  # the others must not wait for this one
                raise

        with ThreadPoolExecutor(max_workers=len(works)) as pool:
            return list(pool.map(one, works))

    def run_numbered(self, work: Callable[[Backends, int], Coroutine[Any, Any, T]],
                     processes: int = 2) -> list[T]:
        """``work(backends, n)`` for n in 0..processes-1, at once (see ``run_at_once``)."""
        return self.run_at_once(*(functools.partial(work, n=n) for n in range(processes)))

    def restart_run(self, *steps: Callable[[Backends], Coroutine[Any, Any, Any]]) -> list[Any]:
        """Each step on the same store, reopened between steps (a restart)."""
        return [self.run(step) for step in steps]


async def _nothing(backends: Backends) -> None:
    return None


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
