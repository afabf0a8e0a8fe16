"""One PostgreSQL node as the adapter sees it: its pool, its faults, and (for a replica) how
far behind its primary it is, as the replication monitor last measured."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

import asyncpg

from roost.adapters.postgres.faults import FaultRecord
from roost.cluster.topology import PostgresNode, Topology

logger = logging.getLogger("roost.storage")


class _QuietFloorRetries(logging.Filter):
    """asyncpg's pool logs a traceback each time it fails to reconnect its minimum of
    connections to a node that is down; roost's fault records already log that node's state
    once per change, so these retries would only bury it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Failed to restore the pool connection floor")


logging.getLogger("asyncpg.pool").addFilter(_QuietFloorRetries())


@dataclass(frozen=True)
class PoolOptions:
    min_size: int = 1
    max_size: int = 10
    connect_timeout: float = 5.0
    statement_timeout: float = 10.0

    @property
    def command_timeout(self) -> float:
        # The server cancels a statement at statement_timeout; this client-side bound only
        # catches a node that stopped answering altogether (a network partition).
        return self.statement_timeout + self.connect_timeout


@dataclass
class PgNode:
    name: str
    shard: int
    role: str
    pool: asyncpg.Pool
    faults: FaultRecord
    acquire_timeout: float
    reads: int = 0
    # Replicas, from the monitor: replay position, lag, and whether the last check answered.
    replay: int | None = None
    lag_bytes: int | None = None
    lag_seconds: float | None = None
    reachable: bool = False
    checked_at: float = field(default=0.0)

    def usable(self, max_lag_seconds: float) -> bool:
        return self.reachable and self.lag_seconds is not None and self.lag_seconds <= max_lag_seconds

    def mark_unreachable(self) -> None:
        self.reachable = False


async def open_pool(topology: Topology, node: PostgresNode, options: PoolOptions) -> asyncpg.Pool:
    """A pool for ``node``; empty (connections made on demand) when the node does not answer
    now, so one node that is down does not keep roost from starting."""
    kwargs = dict(
        dsn=topology.dsn(node), max_size=options.max_size, timeout=options.connect_timeout,
        command_timeout=options.command_timeout,
        server_settings={"statement_timeout": str(int(options.statement_timeout * 1000)),
                         "application_name": "roost"},
    )
    try:
        pool: asyncpg.Pool = await asyncpg.create_pool(min_size=options.min_size, **kwargs)
        return pool
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        logger.error("database node %s not answering at start (%s): connecting on demand",
                     node.name, exc)
        lazy: asyncpg.Pool = await asyncpg.create_pool(min_size=0, **kwargs)
        return lazy


async def close_pool(pool: asyncpg.Pool, timeout: float) -> None:
    try:
        await asyncio.wait_for(pool.close(), timeout)
    except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
        with contextlib.suppress(Exception):
            pool.terminate()
