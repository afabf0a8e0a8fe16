"""One PostgreSQL node run from the machine's binaries: initdb or clone, configure, start, stop.

A primary is made by initdb; a replica by ``pg_basebackup`` from its primary, then started with a
``standby.signal`` to stream from it. Every start rewrites the node's settings file
(``roost.conf``, included by postgresql.conf) from cluster.toml, so the config file is the one
place to change them. We write ``standby.signal`` and ``primary_conninfo`` ourselves instead of
``pg_basebackup -R``: -R puts them in postgresql.auto.conf, which overrides roost.conf and would
keep a replica pointing at a former primary after a promotion.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from roost.cluster import processes
from roost.cluster.layout import StateDir
from roost.cluster.osuser import OsUser, check_reachable, hand_over
from roost.cluster.processes import ProcessRecord
from roost.cluster.topology import PostgresNode, Topology

SETTINGS_FILE = "roost.conf"
INCLUDE_LINE = f"include_if_exists = '{SETTINGS_FILE}'\n"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30
# A Unix socket path is limited to 107 bytes; past that we serve TCP only.
MAX_SOCKET_PATH = 100


class PostgresError(RuntimeError):
    """A PostgreSQL program failed; the message carries its output."""


@dataclass(frozen=True)
class Engine:
    """How to run PostgreSQL programs here: which binaries, as whom, with which state folder."""

    bindir: Path
    user: OsUser
    state: StateDir

    def run(self, program: str, *args: str, extra_env: dict[str, str] | None = None) -> str:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", **(extra_env or {})}
        result = subprocess.run(
            [str(self.bindir / program), *args], capture_output=True, text=True, env=env,
            cwd="/", check=False, **self.user.popen_options())
        if result.returncode != 0:
            raise PostgresError(f"{program} {' '.join(args)} failed ({result.returncode}):\n"
                                f"{result.stdout}{result.stderr}".rstrip())
        output: str = result.stdout
        return output

    def node_pgpass(self, node: PostgresNode) -> Path:
        return self.state.node_dir(node.name) / "pgpass"

    def is_initialised(self, node: PostgresNode) -> bool:
        return (self.state.data_dir(node.name) / "PG_VERSION").is_file()

    def _prepare_node_dir(self, node: PostgresNode, password: str, topology: Topology) -> Path:
        """The node's folder, owned by the engine user, with its private password file."""
        folder = self.state.node_dir(node.name)
        folder.mkdir(mode=0o700, exist_ok=True)
        pgpass = self.node_pgpass(node)
        pgpass.write_text(f"*:*:*:{topology.postgres.user}:{password}\n")
        pgpass.chmod(0o600)  # libpq ignores a password file others can read
        hand_over(folder, self.user)
        check_reachable(folder, self.user)
        partial = folder / "data.partial"  # a failed initdb or clone leaves no half data dir
        if partial.exists():
            shutil.rmtree(partial)
        return partial

    def init_primary(self, node: PostgresNode, topology: Topology, password: str) -> None:
        partial = self._prepare_node_dir(node, password, topology)
        pwfile = self.state.node_dir(node.name) / "initdb.pw"
        pwfile.write_text(password + "\n")
        pwfile.chmod(0o600)
        hand_over(pwfile, self.user)
        try:
            self.run("initdb", "-D", str(partial), "-U", topology.postgres.user,
                     f"--pwfile={pwfile}", "--auth=scram-sha-256", "--encoding=UTF8",
                     "--locale=C", *([] if topology.postgres.fsync else ["--no-sync"]))
        finally:
            pwfile.unlink()
        with (partial / "postgresql.conf").open("a") as conf:
            conf.write(INCLUDE_LINE)
        partial.rename(self.state.data_dir(node.name))

    def clone_replica(self, node: PostgresNode, topology: Topology, password: str) -> None:
        primary = topology.primary(node.shard)
        partial = self._prepare_node_dir(node, password, topology)
        self.run("pg_basebackup", "-h", primary.host, "-p", str(primary.port),
                 "-U", topology.postgres.user, "-D", str(partial), "-X", "stream",
                 "--checkpoint=fast", *([] if topology.postgres.fsync else ["--no-sync"]),
                 extra_env={"PGPASSFILE": str(self.node_pgpass(node))})
        (partial / "standby.signal").touch()
        hand_over(partial / "standby.signal", self.user)
        partial.rename(self.state.data_dir(node.name))

    def write_settings(self, node: PostgresNode, topology: Topology) -> None:
        pg = topology.postgres
        socket_dir = self.state.socket_dir(node.name)
        socket_dir.mkdir(mode=0o700, exist_ok=True)
        hand_over(socket_dir, self.user)
        socket = socket_dir if len(str(socket_dir)) + 20 <= MAX_SOCKET_PATH else ""
        lines = {
            "cluster_name": node.name,
            "listen_addresses": node.host,
            "port": node.port,
            "unix_socket_directories": str(socket),
            "max_connections": pg.max_connections,
            "shared_buffers": pg.shared_buffers,
            "fsync": pg.fsync,
            # Torn pages cannot happen without fsync's ordering anyway; skip their cost then.
            "full_page_writes": pg.fsync,
            "wal_level": "replica",
            "max_wal_senders": 10,
            "wal_keep_size": "256MB",
            "hot_standby": True,
            "hot_standby_feedback": True,
            "logging_collector": False,
        }
        replicas = topology.replicas(node.shard)
        if node.role == "primary":
            names = ", ".join(f'"{r.name}"' for r in replicas)
            lines["synchronous_standby_names"] = (
                f"ANY 1 ({names})" if pg.synchronous and replicas else "")
        else:
            primary = topology.primary(node.shard)
            lines["primary_conninfo"] = (
                f"host={primary.host} port={primary.port} user={pg.user} "
                f"application_name={node.name} passfile={self.node_pgpass(node)}")
            lines["recovery_min_apply_delay"] = f"{node.apply_delay_ms}ms"
        text = "# Written from cluster.toml at every `roost cluster up`: edit that file instead.\n"
        text += "".join(f"{key} = {_setting(value)}\n" for key, value in lines.items())
        target = self.state.data_dir(node.name) / SETTINGS_FILE
        target.write_text(text)
        hand_over(target, self.user)

    def start(self, node: PostgresNode, former: ProcessRecord | None = None) -> ProcessRecord:
        """Start the node and wait until it accepts connections; the postmaster's record.
        ``former`` is the node's previous postmaster, dead, whose PID must be gone first."""
        data = self.state.data_dir(node.name)
        if former is not None and not processes.wait_gone(former, STOP_TIMEOUT_S):
            raise PostgresError(f"{node.name}: former postmaster {former.pid} has not exited")
        log = self.state.log(node.name)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self.run("pg_ctl", "start", "-D", str(data), "-l", str(log), "-w",
                         "-t", str(START_TIMEOUT_S), "-s")
                break
            except PostgresError as exc:
                # After a SIGKILL, the old postmaster's children hold its shared memory until
                # they notice it died (within a second or so): retry while that is the reason.
                if "shared memory block is still in use" not in _tail(log) or time.monotonic() > deadline:
                    raise PostgresError(f"{exc}\n--- {log} ---\n{_tail(log)}") from None
                time.sleep(0.5)
        pid = int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        return processes.record(pid)

    def stop(self, record: ProcessRecord) -> None:
        # SIGINT is PostgreSQL's "fast" shutdown (pg_ctl stop -m fast): roll back, checkpoint, exit.
        processes.stop(record, signal.SIGINT, STOP_TIMEOUT_S)

    def reload(self, record: ProcessRecord) -> None:
        processes.send(record, signal.SIGHUP)


def _setting(value: object) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _tail(path: Path, size: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-size:]
    except FileNotFoundError:
        return ""


async def connect(topology: Topology, node: PostgresNode, *, database: str | None = None,
                  timeout: float = 5.0) -> asyncpg.Connection:
    return await asyncpg.connect(
        host=node.host, port=node.port, user=topology.postgres.user,
        database=database or topology.postgres.database,
        passfile=str(topology.passfile_path), timeout=timeout)


async def ensure_database(topology: Topology, node: PostgresNode) -> None:
    """The application database on a primary (replicas receive it by streaming)."""
    conn = await connect(topology, node, database="postgres")
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1",
                                     topology.postgres.database)
        if not exists:
            name = topology.postgres.database.replace('"', '""')
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def promote(topology: Topology, node: PostgresNode, timeout_s: int = 60) -> None:
    """Make a replica a primary (pg_promote waits until it accepts writes)."""
    conn = await connect(topology, node)
    try:
        if not await conn.fetchval("SELECT pg_is_in_recovery()"):
            raise PostgresError(f"{node.name} is already a primary")
        if not await conn.fetchval("SELECT pg_promote(true, $1)", timeout_s):
            raise PostgresError(f"{node.name} did not finish promotion within {timeout_s} s")
    finally:
        await conn.close()

