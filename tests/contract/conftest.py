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
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

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
