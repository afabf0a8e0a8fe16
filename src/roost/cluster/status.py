"""What every node of a cluster reports: role, address, LSN, replication lag and health.

PostgreSQL is asked through asyncpg (the driver the adapters use), Redis through redis-py.
Lag of a replica is measured two ways: bytes (its primary's current WAL position minus the
replica's replay position) and seconds (how old the last transaction it replayed is, counted
only while it is behind: an idle, caught-up replica has no lag however old its last replay is).
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import asyncpg
import redis.asyncio as aioredis

from roost.cluster import postgres, processes
from roost.cluster.layout import StateDir
from roost.cluster.processes import ProcessRecord
from roost.cluster.topology import PostgresNode, Topology

Health = Literal["up", "down", "unreachable"]
QUERY_TIMEOUT_S = 3.0

NODE_QUERY = """
SELECT pg_is_in_recovery() AS in_recovery,
       CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_current_wal_lsn()::text END AS current_lsn,
       pg_last_wal_receive_lsn()::text AS receive_lsn,
       pg_last_wal_replay_lsn()::text AS replay_lsn,
       extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 AS replay_age_s
"""
STREAMING_QUERY = "SELECT application_name, state, sync_state FROM pg_stat_replication"


@dataclass
class NodeStatus:
    name: str
    kind: Literal["postgres", "redis", "roost"]
    address: str
    shard: int | None
    configured_role: str
    health: Health
    role: str | None = None  # as the engine reports it (primary/replica; Redis: master/slave)
    pid: int | None = None
    lsn: str | None = None  # a primary's current WAL position, a replica's replay position
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    # A primary's attached replicas: application_name -> "streaming/async" and the like.
    streaming: dict[str, str] = field(default_factory=dict)
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def lsn_to_int(lsn: str) -> int:
    """PostgreSQL's ``X/Y`` WAL position as a byte offset."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) + int(low, 16)


async def _postgres(layout: Topology, node: PostgresNode, record: ProcessRecord | None) -> NodeStatus:
    status = NodeStatus(name=node.name, kind="postgres", address=f"{node.host}:{node.port}",
                        shard=node.shard, configured_role=node.role, health="up",
                        pid=record.pid if record else None)
    if record is not None and not processes.alive(record):
        status.health, status.pid = "down", None
        return status
    try:
        conn = await postgres.connect(layout, node, timeout=QUERY_TIMEOUT_S)
        try:
            row = await conn.fetchrow(NODE_QUERY, timeout=QUERY_TIMEOUT_S)
            assert row is not None
            if row["in_recovery"]:
                status.role, status.lsn = "replica", row["replay_lsn"]
                status.lag_seconds = row["replay_age_s"]
            else:
                status.role, status.lsn = "primary", row["current_lsn"]
                for r in await conn.fetch(STREAMING_QUERY, timeout=QUERY_TIMEOUT_S):
                    status.streaming[r["application_name"]] = f"{r['state']}/{r['sync_state']}"
        finally:
            await conn.close()
    except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        status.health = "down" if _refused(exc) else "unreachable"
        status.error = f"{type(exc).__name__}: {exc}"
    return status


def _refused(exc: BaseException | None) -> bool:
    """Nothing listens there (the drivers wrap the OS error in their own)."""
    while exc is not None:
        if isinstance(exc, ConnectionRefusedError):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


async def _redis(layout: Topology, record: ProcessRecord | None) -> NodeStatus:
    node = layout.redis
    status = NodeStatus(name=node.name, kind="redis", address=f"{node.host}:{node.port}",
                        shard=None, configured_role="cache", health="up",
                        pid=record.pid if record else None)
    if record is not None and not processes.alive(record):
        status.health, status.pid = "down", None
        return status
    client = aioredis.Redis(host=node.host, port=node.port, password=layout.redis_password(),
                            socket_timeout=QUERY_TIMEOUT_S, socket_connect_timeout=QUERY_TIMEOUT_S)
    try:
        await client.ping()
        info = await client.info("replication")
        status.role = str(info.get("role"))
        status.lsn = str(info.get("master_repl_offset"))
    except (OSError, aioredis.RedisError) as exc:
        status.health = "down" if _refused(exc) else "unreachable"
        status.error = f"{type(exc).__name__}: {exc}"
    finally:
        await client.aclose()
    return status


async def gather(layout: Topology, records: dict[str, ProcessRecord]) -> list[NodeStatus]:
    found = await asyncio.gather(
        *(_postgres(layout, n, records.get(n.name)) for n in layout.nodes),
        _redis(layout, records.get(layout.redis.name)))
    statuses = list(found)
    primary_lsn = {s.shard: lsn_to_int(s.lsn) for s in statuses
                   if s.kind == "postgres" and s.role == "primary" and s.lsn}
    for s in statuses:
        if s.role != "replica" or s.lsn is None or s.shard not in primary_lsn:
            continue
        s.lag_bytes = max(0, primary_lsn[s.shard] - lsn_to_int(s.lsn))
        if s.lag_bytes == 0:
            s.lag_seconds = 0.0
    return statuses


def cluster_status(state: StateDir, layout: Topology) -> list[NodeStatus]:
    return asyncio.run(gather(layout, state.read_pids()))


def render(statuses: list[NodeStatus]) -> str:
    rows = [("NODE", "KIND", "SHARD", "ROLE", "ADDRESS", "PID", "HEALTH", "LSN/OFFSET", "LAG")]
    for s in statuses:
        lag = "-"
        if s.lag_bytes is not None:
            seconds = "?" if s.lag_seconds is None else f"{s.lag_seconds:.1f} s"
            lag = f"{s.lag_bytes} B, {seconds}"
        elif s.streaming:
            lag = "replicas: " + ", ".join(f"{k} {v}" for k, v in sorted(s.streaming.items()))
        role = s.role or s.configured_role
        rows.append((s.name, s.kind, "-" if s.shard is None else str(s.shard), role, s.address,
                     str(s.pid or "-"), s.health + (f" ({s.error})" if s.error else ""),
                     s.lsn or "-", lag))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + "  " + r[-1]
                     for r in rows)
