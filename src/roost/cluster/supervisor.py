"""A whole topology on this machine: bring it up (idempotently), down, promote a replica.

``up`` is safe to run again at any time: a node whose process is alive is left running (its
settings are rewritten from cluster.toml and reloaded), a node whose PID died is started again,
and a node never made is made (initdb for a primary, a base backup of its primary for a replica).
Nodes on addresses that are not this machine's loopback are only listed, never started: that is
how the same config file serves a deployment on other hosts.
"""

from __future__ import annotations

import asyncio
import ipaddress
import signal
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from roost.cluster import binaries, postgres, processes, redis, roost_processes, topology
from roost.cluster.layout import StateDir
from roost.cluster.osuser import engine_user
from roost.cluster.processes import ProcessRecord
from roost.cluster.topology import PostgresNode, PostgresSettings, Topology, TopologyError

DEFAULT_SHARDS = 2
DEFAULT_REPLICAS = 1
PG_PASSWORD = "postgres.password"


@dataclass(frozen=True)
class Engines:
    pg: postgres.Engine
    redis: redis.Engine


def engines(state: StateDir) -> Engines:
    return Engines(
        pg=postgres.Engine(binaries.postgres_bindir(), engine_user("postgres"), state),
        redis=redis.Engine(binaries.redis_server(), engine_user("redis"), state),
    )


def is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def spare_ports(host: str = topology.LOOPBACK) -> Iterator[int]:
    """Ports the kernel calls free now; each socket stays bound until the next is drawn, so
    no port repeats within one plan."""
    held: list[socket.socket] = []
    try:
        while True:
            sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
            sock.bind((host, 0))
            held.append(sock)
            yield sock.getsockname()[1]
    finally:
        for sock in held:
            sock.close()


def up(state_dir: Path, shards: int | None = None, replicas: int | None = None, *,
       fsync: bool | None = None, synchronous: bool | None = None) -> Topology:
    """Make every local node of the cluster run; returns the topology (also in cluster.toml)."""
    state = StateDir(state_dir.resolve())
    with state.locked():
        layout = _load_or_plan(state, shards, replicas, fsync, synchronous)
        password = _secret(state, PG_PASSWORD)
        (state.secrets / "pgpass").write_text(f"*:*:*:{layout.postgres.user}:{password}\n")
        (state.secrets / "pgpass").chmod(0o600)
        _secret(state, "redis.password")
        topology.save(layout, state.config)
        found = engines(state)
        records = state.read_pids()

        def started(name: str, record: ProcessRecord) -> None:
            records[name] = record
            state.write_pids(records)  # at once: a later failure must not orphan this process

        ordered = sorted(layout.nodes, key=lambda n: (n.role != "primary", n.shard, n.name))
        for node in (n for n in ordered if is_local(n.host)):
            _ensure_postgres(found.pg, layout, node, password, records.get(node.name), started)
        if is_local(layout.redis.host):
            record = records.get(layout.redis.name)
            found.redis.write_config(layout)
            if record is None or not processes.alive(record):
                if record is not None:
                    processes.wait_gone(record, redis.STOP_TIMEOUT_S)
                started(layout.redis.name, found.redis.start(layout))
        return layout


def _load_or_plan(state: StateDir, shards: int | None, replicas: int | None,
                  fsync: bool | None, synchronous: bool | None) -> Topology:
    if not state.config.exists():
        settings = PostgresSettings(fsync=True if fsync is None else fsync,
                                    synchronous=bool(synchronous))
        planned = topology.plan(DEFAULT_SHARDS if shards is None else shards,
                                DEFAULT_REPLICAS if replicas is None else replicas,
                                spare_ports(), postgres=settings)
        return replace(planned, base=state.root)
    layout = topology.load(state.config)
    shape = {len(layout.replicas(s)) for s in layout.shards}
    if (shards is not None and shards != len(layout.shards)) or (
            replicas is not None and shape != {replicas}):
        raise TopologyError(
            f"{state.config} already describes {len(layout.shards)} shard(s) with "
            f"{'/'.join(map(str, sorted(shape)))} replica(s) each; to change the shape, "
            f"`roost cluster down` and use a new state folder")
    settings = layout.postgres
    if fsync is not None:
        settings = replace(settings, fsync=fsync)
    if synchronous is not None:
        settings = replace(settings, synchronous=synchronous)
    return replace(layout, postgres=settings)


def _secret(state: StateDir, name: str) -> str:
    path = state.secret(name)
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(redis.new_password() + "\n")
    return path.read_text().strip()


def _ensure_postgres(engine: postgres.Engine, layout: Topology, node: PostgresNode, password: str,
                     record: ProcessRecord | None,
                     started: Callable[[str, ProcessRecord], None]) -> None:
    if record is not None and processes.alive(record):
        engine.write_settings(node, layout)
        engine.reload(record)
    else:
        if not engine.is_initialised(node):
            if node.role == "primary":
                engine.init_primary(node, layout, password)
            else:
                engine.clone_replica(node, layout, password)
        engine.write_settings(node, layout)
        started(node.name, engine.start(node, record))
    if node.role == "primary":
        asyncio.run(postgres.ensure_database(layout, node))


def down(state_dir: Path) -> list[str]:
    """Stop every process ``up`` recorded that still runs, replicas before primaries; the names
    stopped."""
    state = StateDir(state_dir.resolve())
    if not state.pids_file.exists():
        return []
    with state.locked():
        records = state.read_pids()
        try:
            layout: Topology | None = topology.load(state.config)
        except TopologyError:
            layout = None  # still stop what was recorded, each with SIGTERM
        postgres_roles = {n.name: n.role for n in layout.nodes} if layout else {}
        # roost's own processes first: they would only fail on engines going away under them.
        stopped = roost_processes.stop(state, records)
        order = sorted((n for n in records if n not in stopped), key=lambda name: {"replica": 0, "primary": 1}.get(
            postgres_roles.get(name, ""), 2))
        for name in order:
            if processes.alive(records[name]):
                # SIGINT is PostgreSQL's fast shutdown; SIGTERM makes Redis save and exit.
                sig = signal.SIGINT if name in postgres_roles else signal.SIGTERM
                processes.stop(records[name], sig, postgres.STOP_TIMEOUT_S)
                stopped.append(name)
        # The records stay: the next `up` waits until these PIDs are fully gone before starting
        # the nodes again (PostgreSQL refuses to while its lock file's PID still exists).
        return stopped


def promote(state_dir: Path, name: str) -> Topology:
    """Make replica ``name`` its shard's primary.

    The former primary is stopped first if it still runs (two primaries would take diverging
    writes) and leaves the topology; its data folder stays for inspection. The shard's other
    replicas are re-pointed at the new primary and follow its timeline.
    """
    state = StateDir(state_dir.resolve())
    with state.locked():
        layout = topology.load(state.config)
        node = layout.node(name)
        if node.role != "replica":
            raise TopologyError(f"{name} is already its shard's primary")
        former = layout.primary(node.shard)
        found = engines(state)
        records = state.read_pids()
        if former.name in records:
            found.pg.stop(records.pop(former.name))
            state.write_pids(records)
        asyncio.run(postgres.promote(layout, node))
        promoted = replace(node, role="primary", apply_delay_ms=0)
        layout = replace(layout, nodes=tuple(
            promoted if n.name == name else n for n in layout.nodes if n.name != former.name))
        topology.save(layout, state.config)
        for member in [promoted, *layout.replicas(node.shard)]:
            if is_local(member.host):
                found.pg.write_settings(member, layout)
                if member.name in records:
                    found.pg.reload(records[member.name])
        return layout


def set_apply_delay(state_dir: Path, name: str, delay_ms: int) -> Topology:
    """Hold replica ``name`` back by ``delay_ms`` (recovery_min_apply_delay), live: a reload
    applies it, and a lower delay releases transactions already waiting."""
    state = StateDir(state_dir.resolve())
    with state.locked():
        layout = topology.load(state.config)
        node = layout.node(name)
        if node.role != "replica":
            raise TopologyError(f"{name} is a primary; only replicas replay with a delay")
        layout = layout.replace_node(replace(node, apply_delay_ms=delay_ms))
        topology.validate(layout)
        topology.save(layout, state.config)
        record = state.read_pids().get(name)
        engine = engines(state).pg
        if is_local(node.host) and engine.is_initialised(node):
            engine.write_settings(layout.node(name), layout)
            if record is not None:
                engine.reload(record)
        return layout
