"""Contract suites: one per port, run against every adapter family.

``family`` yields started backends of one family on a fresh store: every test in
``tests/contract/`` runs once per family its module names. The embedded family is
always here; a real-engine family joins when its adapters exist, starting its engines
through ``roost.cluster`` on spare loopback ports (pg_family.py for PostgreSQL).

Which families a module runs on: its module-level ``FAMILIES`` (default: embedded only).
A suite whose repositories exist on PostgreSQL opts in with
``FAMILIES = ALL_FAMILIES`` (``from .conftest import ALL_FAMILIES``); without the engines
installed its postgres cases skip.
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

from .pg_family import (
    PG_MIGRATIONS,
    PgContractCluster,
    open_postgres_family,
    pg_contract_cluster,
    state_root,
)

T = TypeVar("T")
EMBEDDED_ONLY = ("embedded",)
ALL_FAMILIES = ("embedded", "postgres")

__all__ = ["ALL_FAMILIES", "EMBEDDED_ONLY", "Family", "pg_contract_cluster", "state_root"]


@asynccontextmanager
async def open_family(name: str, root: Path) -> AsyncIterator[Backends]:
    """Backends of family ``name`` on the store under ``root``, migrated."""
    if name == "postgres":
        async with open_postgres_family(root) as backends:
            yield backends
        return
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

    def needs(self, component: str) -> None:
        """Skip unless this family's schema has ``component`` (an area whose tables this
        family does not have yet: the test runs as soon as they land)."""
        migrations = PG_MIGRATIONS if self.name == "postgres" else MIGRATIONS
        if component not in {m.component for m in migrations}:
            pytest.skip(f"the {self.name} family has no {component!r} tables yet")

    def restart_run(self, *steps: Callable[[Backends], Coroutine[Any, Any, Any]]) -> list[Any]:
        """Each step on the same store, reopened between steps (a restart)."""
        return [self.run(step) for step in steps]


async def _nothing(backends: Backends) -> None:
    return None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "family_name" in metafunc.fixturenames:
        metafunc.parametrize("family_name", getattr(metafunc.module, "FAMILIES", EMBEDDED_ONLY))


@pytest.fixture
def family(family_name: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Family]:
    if family_name != "postgres":
        yield Family(family_name, tmp_path)
        return
    cluster: PgContractCluster = request.getfixturevalue("pg_contract_cluster")
    with cluster.fresh_store(tmp_path):
        yield Family(family_name, tmp_path)


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
