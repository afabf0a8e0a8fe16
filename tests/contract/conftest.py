"""Contract suites: one per port, run against every adapter family.

``family`` yields started backends of one family on a fresh store: every test in
``tests/contract/`` runs once per family. The embedded family is always here; a
real-engine family (PostgreSQL, Redis) joins the parameter list when its adapter
exists, starting its engines through ``roost.cluster`` on spare loopback ports.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

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
        its own thread and event loop: like separate processes, nothing process-local
        (no asyncio lock, no shared object) keeps them apart; only the store does."""
        self.run(_nothing)  # migrate first: two openers must not both create the schema
        with ThreadPoolExecutor(max_workers=len(works)) as pool:
            return list(pool.map(self.run, works))

    def restart_run(self, *steps: Callable[[Backends], Coroutine[Any, Any, Any]]) -> list[Any]:
        """Each step on the same store, reopened between steps (a restart)."""
        return [self.run(step) for step in steps]


async def _nothing(backends: Backends) -> None:
    return None


@pytest.fixture(params=FAMILIES)
def family(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Family]:
    yield Family(request.param, tmp_path)


# -- Redis (issue #9: the cache port's Redis adapter) ------------------------------------------


@dataclass(frozen=True)
class RedisServer:
    """A redis-server of our own, started through ``roost.cluster.redis`` on a spare loopback port."""

    host: str
    port: int
    password: str

    def client(self) -> Any:
        from roost.adapters.redis.cache import connect

        return connect(f"redis://{self.host}:{self.port}/0", self.password, timeout=5.0)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """Started once per session, stopped by the PID it recorded (skips only when redis-server
    is not installed: ``make engines`` installs it)."""
    import shutil
    import tempfile

    from roost.cluster import binaries
    from roost.cluster import redis as redis_engine
    from roost.cluster.layout import StateDir
    from roost.cluster.osuser import engine_user
    from roost.cluster.supervisor import spare_ports
    from roost.cluster.topology import LOOPBACK, PostgresSettings, RedisNode, Topology

    try:
        server = binaries.redis_server()
    except binaries.EnginesMissing as missing:
        pytest.skip(str(missing))
    # Not pytest's tmp_path: Redis runs as `redis` when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="roost-contract-redis-"))
    root.chmod(0o711)
    state = StateDir(root)
    state.create()
    password = redis_engine.new_password()
    state.secret("redis.password").write_text(password + "\n")
    ports = spare_ports()
    port = next(ports)
    ports.close()  # frees the port for redis-server
    topology = Topology(postgres=PostgresSettings(), nodes=(), redis=RedisNode("redis", LOOPBACK, port), base=root)
    engine = redis_engine.Engine(server, engine_user("redis"), state)
    engine.write_config(topology)
    record = engine.start(topology)
    try:
        yield RedisServer(LOOPBACK, port, password)
    finally:
        engine.stop(record)
        shutil.rmtree(root, ignore_errors=True)
