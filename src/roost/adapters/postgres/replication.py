"""How far each replica is behind its primary, measured every few hundred milliseconds.

Bytes: the primary's WAL position minus the replica's replay position. Seconds: how long ago
the primary was first seen past the position the replica has now replayed (from this
process's own samples of the primary, so clocks of different hosts never enter it; exact to
one check interval). An idle, caught-up replica has no lag however old its last replayed
transaction is, and a replica held back by recovery_min_apply_delay shows the delay growing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Sequence

import asyncpg

from roost.adapters.postgres.consistency import lsn_to_int
from roost.adapters.postgres.faults import fault_kind
from roost.adapters.postgres.nodes import PgNode
from roost.tasks import cancel_and_wait

logger = logging.getLogger("roost.storage")

PRIMARY_QUERY = "SELECT pg_current_wal_lsn()::text"
REPLICA_QUERY = "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text"
# Samples of a primary's position kept for a replica that stopped replaying (bounds memory).
MAX_SAMPLES = 20_000


class ShardLag:
    """One shard's primary samples and its replicas' measured lag."""

    def __init__(self, primary: PgNode, replicas: Sequence[PgNode]) -> None:
        self.primary = primary
        self.replicas = list(replicas)
        self.samples: deque[tuple[float, int]] = deque(maxlen=MAX_SAMPLES)

    def replayed_everywhere(self) -> int | None:
        """The position every replica has replayed, or None if one is unknown."""
        positions = [r.replay for r in self.replicas]
        if not positions or any(p is None for p in positions):
            return None
        return min(p for p in positions if p is not None)

    def update(self, now: float, primary_lsn: int | None) -> None:
        if primary_lsn is not None and (not self.samples or self.samples[-1][1] != primary_lsn):
            self.samples.append((now, primary_lsn))
        for replica in self.replicas:
            if replica.replay is None or not self.samples:
                replica.lag_bytes = replica.lag_seconds = None
                continue
            latest = self.samples[-1][1]
            replica.lag_bytes = max(0, latest - replica.replay)
            replica.lag_seconds = 0.0
            for seen_at, position in self.samples:
                if position > replica.replay:
                    replica.lag_seconds = now - seen_at
                    break
        everywhere = self.replayed_everywhere()
        # Samples every replica has passed answer no question any more; keep the newest.
        while everywhere is not None and len(self.samples) > 1 and self.samples[0][1] <= everywhere:
            self.samples.popleft()


class ReplicationMonitor:
    def __init__(self, shards: Sequence[ShardLag], interval: float, timeout: float) -> None:
        self.shards = list(shards)
        self.interval = interval
        self.timeout = timeout
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None and any(s.replicas for s in self.shards):
            self._task = asyncio.get_running_loop().create_task(self._run(), name="pg-replication-monitor")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await self.check()
            await asyncio.sleep(self.interval)

    async def check(self) -> None:
        """Measure every shard once (each node asked concurrently)."""
        await asyncio.gather(*(self._check_shard(s) for s in self.shards))

    async def _check_shard(self, shard: ShardLag) -> None:
        # The replicas first: a primary position read after them can only be further on,
        # so the lag is never under-stated.
        await asyncio.gather(*(self._check_replica(r) for r in shard.replicas))
        primary_lsn = await self._value(shard.primary, PRIMARY_QUERY)
        shard.update(time.monotonic(), lsn_to_int(primary_lsn) if isinstance(primary_lsn, str) else None)

    async def _check_replica(self, replica: PgNode) -> None:
        row = await self._row(replica, REPLICA_QUERY)
        replica.checked_at = time.monotonic()
        if row is None:
            replica.reachable, replica.replay = False, None
            return
        in_recovery, replay = row[0], row[1]
        if not in_recovery:
            # Promoted (or misconfigured): it is no longer a copy of this shard's primary.
            if replica.reachable:
                logger.error("replica %s is not in recovery: not reading from it", replica.name)
            replica.reachable, replica.replay = False, None
            return
        replica.replay = lsn_to_int(replay) if replay else None
        replica.reachable = replica.replay is not None

    async def _value(self, node: PgNode, query: str) -> object:
        row = await self._row(node, query)
        return None if row is None else row[0]

    async def _row(self, node: PgNode, query: str) -> asyncpg.Record | None:
        try:
            async with node.pool.acquire(timeout=self.timeout) as conn:
                row: asyncpg.Record | None = await conn.fetchrow(query, timeout=self.timeout)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # any failure means "not answering now"
            kind = fault_kind(exc)
            node.faults.record(kind or "down", f"{type(exc).__name__}: {exc}")
            return None
        node.faults.succeeded()
        return row
