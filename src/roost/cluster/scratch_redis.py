"""A throwaway redis-server on a spare loopback port, for tests and benchmarks.

Started through the same ``roost.cluster.redis`` engine as ``roost cluster up`` (config
file, password, PID record) in a temporary state folder, and stopped by its PID.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import redis as redis_py
from redis.asyncio import Redis

from roost.adapters.redis.client import connect
from roost.cluster import binaries, processes, redis, supervisor, topology
from roost.cluster.layout import StateDir
from roost.cluster.osuser import engine_user


@dataclass(frozen=True)
class RedisServer:
    host: str
    port: int
    password: str
    pid: int

    def client(self) -> Redis:
        """A new asyncio client (one per event loop: a client is bound to the loop it runs on)."""
        return connect(self.host, self.port, self.password)

    def flush(self) -> None:
        """Empty every database (between tests sharing the server)."""
        with redis_py.Redis(host=self.host, port=self.port, password=self.password) as client:
            client.flushall()


class Restartable:
    """A scratch Redis a test stops and starts again (by PID, SIGTERM: it writes its
    append-only file, as the cluster's Redis does), on the same port and folder."""

    def __init__(self, engine: redis.Engine, layout: topology.Topology, record: processes.ProcessRecord) -> None:
        self._engine, self._layout, self._record = engine, layout, record

    @property
    def server(self) -> RedisServer:
        node = self._layout.redis
        return RedisServer(node.host, node.port, self._layout.redis_password(), self._record.pid)

    def stop(self) -> None:
        processes.stop(self._record, signal.SIGTERM, redis.STOP_TIMEOUT_S)

    def start(self) -> None:
        self._record = self._engine.start(self._layout)

    def stop_now(self) -> None:
        processes.stop(self._record, signal.SIGKILL, redis.STOP_TIMEOUT_S)  # scratch: nothing to keep


@contextmanager
def scratch_redis() -> Iterator[RedisServer]:
    with restartable_redis() as restartable:
        yield restartable.server


@contextmanager
def restartable_redis() -> Iterator[Restartable]:
    root = Path(tempfile.mkdtemp(prefix="roost-redis-"))
    root.chmod(0o711)  # redis-server runs as `redis` when we are root
    try:
        state = StateDir(root)
        # The held sockets close when the generator is collected, as in `roost cluster up`.
        layout = replace(topology.plan(1, 0, supervisor.spare_ports()), base=root)
        state.secrets.mkdir(mode=0o700)
        state.secret("redis.password").write_text(redis.new_password() + "\n")
        (root / "nodes").mkdir()
        engine = redis.Engine(binaries.redis_server(), engine_user("redis"), state)
        engine.write_config(layout)
        restartable = Restartable(engine, layout, engine.start(layout))
        try:
            yield restartable
        finally:
            restartable.stop_now()
    finally:
        shutil.rmtree(root, ignore_errors=True)
