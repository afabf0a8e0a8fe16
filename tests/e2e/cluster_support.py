"""The cluster shape end to end: a real `roost cluster up` (PostgreSQL shards with streaming
replicas, Redis, and roost on them) in a temporary state folder, driven over HTTP.

Everything it starts is recorded by PID in the state folder's pids.json; ``down`` runs
`roost cluster down` and then SIGKILLs, by PID and start time, whatever is still alive.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from e2e_support import ROOST, User, wait_until

from roost.cluster import processes, topology
from roost.cluster.layout import StateDir
from roost.cluster.postgres import connect
from roost.cluster.topology import Topology

UP_TIMEOUT_S = 240.0  # `roost cluster up` of a new cluster: initdb, base backups, migrations
_SERVING = re.compile(r"serving the Mastodon API on (http://\S+)")


class ClusterRoost:
    """`roost cluster up --shards N --replicas R --no-fsync --state-dir D`, engines and roost."""

    def __init__(self, state_dir: Path, log_dir: Path, shards: int = 2, replicas: int = 1,
                 env: dict[str, str] | None = None) -> None:
        self.state_dir = Path(state_dir)
        self.log_dir = Path(log_dir)
        self.shards = shards
        self.replicas = replicas
        self.env = env or {}
        self.url = ""
        self._runs = 0

    @property
    def state(self) -> StateDir:
        return StateDir(self.state_dir)

    @property
    def topology(self) -> Topology:
        return topology.load(self.state.config)

    def cli(self, *args: str, timeout: float = UP_TIMEOUT_S) -> str:
        """Run `roost cluster <args> --state-dir D`; its output, also kept in the log folder."""
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
        child_env.update(self.env)
        self._runs += 1
        self.log_dir.mkdir(parents=True, exist_ok=True)
        log = self.log_dir / f"cluster-{args[0]}-{self._runs}.log"
        result = subprocess.run([*ROOST, "cluster", *args, "--state-dir", str(self.state_dir)],
                                capture_output=True, text=True, env=child_env, timeout=timeout,
                                stdin=subprocess.DEVNULL, check=False)
        log.write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            raise RuntimeError(f"roost cluster {' '.join(args)} exited {result.returncode}:\n"
                               f"{result.stdout}{result.stderr}")
        return result.stdout

    def up(self) -> ClusterRoost:
        """Start (or restart what died of) the cluster, roost included; wait until roost is ready."""
        out = self.cli("up", "--shards", str(self.shards), "--replicas", str(self.replicas),
                       "--no-fsync")
        urls = _SERVING.findall(out)
        assert urls, f"`roost cluster up` printed no URL:\n{out}"
        self.url = urls[0]
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        wait_until(lambda: httpx.get(self.url + "/ready", timeout=2).status_code == 200, timeout,
                   0.1, f"{self.url}/ready (see {self.log_dir})")

    def down(self) -> None:
        try:
            self.cli("down", timeout=120)
        finally:  # whatever down did not stop: SIGKILL by recorded PID and start time
            for record in self.state.read_pids().values():
                processes.stop(record, signal.SIGKILL, 10)

    # -- processes -----------------------------------------------------------------------

    def engine_names(self) -> set[str]:
        layout = self.topology
        return {n.name for n in layout.nodes} | {layout.redis.name}

    def roost_records(self) -> dict[str, processes.ProcessRecord]:
        """The roost processes `up` started (every recorded process that is not an engine)."""
        engines = self.engine_names()
        return {name: rec for name, rec in self.state.read_pids().items() if name not in engines}

    def kill_roost(self) -> list[str]:
        """SIGKILL every live roost process; the names killed."""
        killed = [name for name, rec in self.roost_records().items()
                  if processes.send(rec, signal.SIGKILL)]
        for name in killed:
            processes.wait_gone(self.roost_records()[name], 10)
        return killed

    def restart_roost(self) -> None:
        """Stop roost (SIGTERM, by PID) and `roost cluster up` again: a fresh roost on the same
        engines, for a test that must not hand a damaged process to the next one."""
        for record in self.roost_records().values():
            processes.stop(record, signal.SIGTERM, 30)
        self.up()

    def redis_record(self) -> processes.ProcessRecord:
        return self.state.read_pids()[self.topology.redis.name]

    # -- reading the engines directly --------------------------------------------------------

    def sql_on_primaries(self, query: str, *args: Any) -> list[asyncpg.Record]:
        """``query`` on every shard's primary; the rows of all shards together."""
        layout = self.topology

        async def run() -> list[asyncpg.Record]:
            rows: list[asyncpg.Record] = []
            for shard in layout.shards:
                conn = await connect(layout, layout.primary(shard))
                try:
                    rows += await conn.fetch(query, *args)
                finally:
                    await conn.close()
            return rows

        return asyncio.run(run())

    def sql_on(self, node_name: str, query: str, *args: Any) -> list[asyncpg.Record]:
        layout = self.topology

        async def run() -> list[asyncpg.Record]:
            conn = await connect(layout, layout.node(node_name))
            try:
                return list(await conn.fetch(query, *args))
            finally:
                await conn.close()

        return asyncio.run(run())

    def redis_answers(self) -> bool:
        import redis

        layout = self.topology
        try:
            with redis.Redis(host=layout.redis.host, port=layout.redis.port, socket_timeout=1,
                             socket_connect_timeout=1, password=layout.redis_password()) as client:
                return bool(client.ping())
        except redis.RedisError:
            return False


# -- /metrics ---------------------------------------------------------------------------------

_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][\w:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)$')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def metric_samples(base_url: str, name: str) -> list[tuple[dict[str, str], float]]:
    """Every sample of metric ``name`` on /metrics: (labels, value)."""
    text = httpx.get(base_url + "/metrics", timeout=10).text
    found = []
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match and match["name"] == name:
            found.append((dict(_LABEL.findall(match["labels"] or "")), float(match["value"])))
    return found


# -- load with every response recorded --------------------------------------------------------

@dataclass(frozen=True)
class Outcome:
    at: float  # time.monotonic() when the answer (or the failure) came
    kind: str
    status: int  # 0: no HTTP answer (connection refused, reset, timeout)
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.status == 200


@dataclass
class Recorder:
    outcomes: list[Outcome] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, kind: str, request: Callable[..., httpx.Response], *args: Any,
             **kwargs: Any) -> httpx.Response | None:
        """``request(*args, **kwargs)``, its outcome recorded with the time it came."""
        try:
            response = request(*args, **kwargs)
        except httpx.HTTPError as exc:
            self._add(Outcome(time.monotonic(), kind, 0, repr(exc)))
            return None
        detail = "" if response.status_code == 200 else (
            f"{response.text[:200]} retry-after={response.headers.get('retry-after')}")
        self._add(Outcome(time.monotonic(), kind, response.status_code, detail))
        return response

    def _add(self, outcome: Outcome) -> None:
        with self._lock:
            self.outcomes.append(outcome)

    def between(self, start: float, end: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if start <= o.at <= end]

    def outside(self, start: float, end: float) -> list[Outcome]:
        with self._lock:
            return [o for o in self.outcomes if not start <= o.at <= end]


@contextmanager
def running(*loops: Callable[[threading.Event], None]) -> Iterator[threading.Event]:
    """Each loop in its own thread until the block ends (it must return once the event is set)."""
    stop = threading.Event()
    errors: list[BaseException] = []

    def guarded(loop: Callable[[threading.Event], None]) -> None:
        try:
            loop(stop)
        except BaseException as exc:  # reported by the test, not lost in a thread
            errors.append(exc)
            stop.set()

    threads = [threading.Thread(target=guarded, args=(loop,), daemon=True) for loop in loops]
    for thread in threads:
        thread.start()
    try:
        yield stop
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads), "a load thread did not stop"


def post_until_acknowledged(user: User, text: str, deadline: float,
                            recorder: Recorder | None = None) -> tuple[str, dict[str, Any]]:
    """POST a status with an Idempotency-Key, retrying with the same key after any failure
    (no answer, or a 5xx) until it is acknowledged or ``deadline`` passes: (key, status)."""
    key = uuid.uuid4().hex
    request: dict[str, Any] = {"json": {"status": text}, "headers": {"Idempotency-Key": key}}
    while True:
        response = (recorder or Recorder()).call("POST status", user.client.post,
                                                 "/api/v1/statuses", **request)
        if response is not None and response.status_code == 200:
            return key, dict(response.json())
        if response is not None and response.status_code < 500:
            raise AssertionError(f"POST /api/v1/statuses -> {response.status_code} {response.text}")
        if time.monotonic() > deadline:
            raise AssertionError(f"status {text!r} never acknowledged (last: "
                                 f"{response.status_code if response else 'no answer'})")
        time.sleep(0.1)


def all_home_ids(user: User, page: int = 40) -> list[str]:
    """Every id of ``user``'s home timeline, newest first (walking max_id)."""
    ids: list[str] = []
    params: dict[str, Any] = {"limit": page}
    while True:
        batch = [s["id"] for s in user.get("/api/v1/timelines/home", **params)]
        if not batch:
            return ids
        ids += batch
        params["max_id"] = batch[-1]
