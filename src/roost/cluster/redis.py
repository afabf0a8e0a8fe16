"""One Redis node run from the machine's redis-server, in the foreground, as a process we record.

Its config file lives in the node folder; append-only persistence is on, so a restart keeps what
was acknowledged (within ``appendfsync everysec``: up to a second of writes on a machine crash).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import redis as redis_py

from roost.cluster import processes
from roost.cluster.layout import StateDir
from roost.cluster.osuser import OsUser, check_reachable, hand_over
from roost.cluster.processes import ProcessRecord
from roost.cluster.topology import Topology

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0


class RedisError(RuntimeError):
    """redis-server did not come up; the message carries its log."""


@dataclass(frozen=True)
class Engine:
    server: Path
    user: OsUser
    state: StateDir

    def config_path(self, topology: Topology) -> Path:
        return self.state.node_dir(topology.redis.name) / "redis.conf"

    def write_config(self, topology: Topology) -> None:
        node = topology.redis
        folder = self.state.node_dir(node.name)
        data = self.state.data_dir(node.name)
        folder.mkdir(mode=0o700, exist_ok=True)
        data.mkdir(mode=0o700, exist_ok=True)
        password = topology.redis_password()
        settings = {
            "bind": node.host,
            "port": node.port,
            "protected-mode": "yes",
            "daemonize": "no",  # we keep its PID ourselves
            "dir": str(data),
            "logfile": str(self.state.log(node.name)),
            "appendonly": "yes",
            "appendfsync": "everysec",
            "requirepass": password,
            "save": '""',  # the append-only file is the persistence; no RDB snapshots
        }
        config = self.config_path(topology)
        config.write_text("# Written from cluster.toml at every `roost cluster up`.\n"
                          + "".join(f"{key} {value}\n" for key, value in settings.items()))
        config.chmod(0o600)  # it holds the password
        hand_over(folder, self.user)
        check_reachable(data, self.user)

    def start(self, topology: Topology) -> ProcessRecord:
        node = topology.redis
        log = self.state.log(node.name)
        proc = subprocess.Popen(
            [str(self.server), str(self.config_path(topology))], stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/",
            start_new_session=True,  # outlives `roost cluster up`, untouched by its Ctrl-C
            **self.user.popen_options())
        record = processes.record(proc.pid)
        client = redis_py.Redis(host=node.host, port=node.port, password=topology.redis_password(),
                                socket_timeout=1.0, socket_connect_timeout=1.0)
        deadline = time.monotonic() + START_TIMEOUT_S
        try:
            while True:
                try:
                    client.ping()
                    return record
                except redis_py.ConnectionError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        break
                    time.sleep(0.05)
        finally:
            client.close()
        processes.stop(record, signal.SIGTERM, STOP_TIMEOUT_S)
        tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
        raise RedisError(f"redis-server on {node.host}:{node.port} did not answer "
                         f"(exit {proc.poll()}):\n{tail}")

    def stop(self, record: ProcessRecord) -> None:
        # SIGTERM makes Redis flush the append-only file and exit.
        processes.stop(record, signal.SIGTERM, STOP_TIMEOUT_S)


def new_password() -> str:
    return os.urandom(24).hex()
