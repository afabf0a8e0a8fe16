"""roost's own server processes on the cluster: ``roost cluster up --processes P``.

Each is ``roost serve`` with ``ROOST_CLUSTER_CONFIG`` naming the state folder's cluster.toml, on
a loopback port of its own (spare ones, or ``--port`` and the ports after it), started in a
session of its own so it outlives ``up``, and recorded by PID and start time in pids.json like
the engines. The first runs every component (the API and the log consumers); the others run the
API only (``--target gateway``): the log is still one SQLite file (issue #10), which several
processes may append to but whose consumer groups one process must own. Their addresses are in
``roost/processes.json``, their output in ``roost/<name>.log``. Load balancing across them is
nginx's job (issue #11); until then clients pick a URL.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from roost.cluster import processes
from roost.cluster.layout import StateDir
from roost.cluster.processes import ProcessRecord
from roost.cluster.status import NodeStatus
from roost.cluster.topology import LOOPBACK

ROOST_DIR = "roost"  # beside cluster.toml; the log lives here too (runtime/backends.py)
PROCESSES_FILE = "processes.json"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 30.0
HEALTH_TIMEOUT_S = 2.0
DEFAULT_PROCESSES = 1


class RoostProcessError(RuntimeError):
    """A roost server process did not come up; the message carries its log's tail."""


@dataclass(frozen=True)
class RoostProcess:
    name: str
    host: str
    port: int
    target: str

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def folder(state: StateDir) -> Path:
    return state.root / ROOST_DIR


def log_path(state: StateDir, name: str) -> Path:
    return folder(state) / f"{name}.log"


def load(state: StateDir) -> list[RoostProcess]:
    try:
        raw = json.loads((folder(state) / PROCESSES_FILE).read_text())
    except FileNotFoundError:
        return []
    return [RoostProcess(**entry) for entry in raw]


def _save(state: StateDir, planned: list[RoostProcess]) -> None:
    folder(state).mkdir(mode=0o700, exist_ok=True)
    path = folder(state) / PROCESSES_FILE
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps([asdict(p) for p in planned], indent=1))
    os.replace(temporary, path)


def plan(existing: list[RoostProcess], count: int | None, port: int | None,
         ports: Iterator[int]) -> list[RoostProcess]:
    """The processes to run: the recorded ones kept (their ports too), more added or the last
    ones dropped to reach ``count`` (default: as many as recorded, else one)."""
    wanted = (len(existing) or DEFAULT_PROCESSES) if count is None else count
    kept = existing[:wanted]
    planned = list(kept)
    for index in range(len(kept), wanted):
        chosen = port + index if port is not None else next(ports)
        planned.append(RoostProcess(name=f"roost-{index}", host=LOOPBACK, port=chosen,
                                    target="all" if index == 0 else "gateway"))
    return planned


def healthy(process: RoostProcess, timeout: float = HEALTH_TIMEOUT_S) -> bool:
    try:
        with urllib.request.urlopen(f"{process.url}/health", timeout=timeout) as answer:
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def environment(config: Path) -> dict[str, str]:
    """The caller's environment (its ROOST_* settings apply) with the cluster config set."""
    return {**os.environ, "ROOST_CLUSTER_CONFIG": str(config.resolve())}


def start(state: StateDir, process: RoostProcess, former: ProcessRecord | None = None) -> ProcessRecord:
    """Start ``process`` and wait until it answers /health; its record."""
    if former is not None:
        processes.wait_gone(former, STOP_TIMEOUT_S)
    log = log_path(state, process.name)
    with log.open("ab") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "roost", "serve", "--target", process.target,
             "--host", process.host, "--port", str(process.port)],
            stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT, cwd=folder(state),
            env=environment(state.config), start_new_session=True)  # outlives `up` and its Ctrl-C
    record = processes.record(child.pid)
    deadline = time.monotonic() + START_TIMEOUT_S
    while not healthy(process, timeout=0.5):
        if child.poll() is not None or time.monotonic() > deadline:
            processes.stop(record, signal.SIGTERM, STOP_TIMEOUT_S)
            child.poll()
            tail = log.read_text(errors="replace")[-3000:]
            raise RoostProcessError(f"{process.name} on {process.url} did not come up "
                                    f"(exit {child.returncode}); {log}:\n{tail}")
        time.sleep(0.1)
    return record


def migrate(config: Path) -> list[str]:
    """``roost migrate`` against the cluster config: the steps applied, one line each."""
    from roost.runtime.backends import migrations_for, open_database
    from roost.runtime.container import describe_steps
    from roost.settings import Settings

    async def run() -> list[str]:
        db, close = await open_database(Settings.from_env(cluster_config=str(config.resolve())))
        try:
            return describe_steps(await db.migrate(migrations_for(db)))
        finally:
            await close()

    return asyncio.run(run())


def up(state: StateDir, count: int | None, port: int | None, ports: Iterator[int]) -> list[RoostProcess]:
    """Make the planned processes run: a live one is left alone, a dead one started again, one
    no longer planned stopped. Call with the state folder locked."""
    existing = load(state)
    planned = plan(existing, count, port, ports)
    close = getattr(ports, "close", None)
    if close is not None:
        close()  # spare_ports holds each port it drew bound until closed: free them for roost
    records = state.read_pids()
    for dropped in existing[len(planned):]:
        record = records.pop(dropped.name, None)
        if record is not None:
            processes.stop(record, signal.SIGTERM, STOP_TIMEOUT_S)
    _save(state, planned)
    state.write_pids(records)
    for process in planned:
        record = records.get(process.name)
        if record is not None and processes.alive(record):
            continue
        records[process.name] = start(state, process, record)
        state.write_pids(records)  # at once: a later failure must not orphan this process
    return planned


def stop(state: StateDir, records: dict[str, ProcessRecord]) -> list[str]:
    """Stop the roost processes among ``records`` (SIGTERM: uvicorn finishes what it serves and
    the components stop cleanly); the names stopped."""
    stopped = []
    for process in load(state):
        record = records.get(process.name)
        if record is not None and processes.alive(record):
            processes.stop(record, signal.SIGTERM, STOP_TIMEOUT_S)
            stopped.append(process.name)
    return stopped


def statuses(state: StateDir) -> list[NodeStatus]:
    records = state.read_pids()
    found = []
    for process in load(state):
        record = records.get(process.name)
        status = NodeStatus(name=process.name, kind="roost", address=process.url, shard=None,
                            configured_role=process.target, health="up", role=process.target,
                            pid=record.pid if record else None)
        if record is None or not processes.alive(record):
            status.health, status.pid = "down", None
        elif not healthy(process):
            status.health, status.error = "unreachable", "no answer on /health"
        found.append(status)
    return found
