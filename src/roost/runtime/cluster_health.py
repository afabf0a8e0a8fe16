"""The cluster shape's /ready checks and its figures on /metrics.

Ready means this process can take writes: every shard's primary answers a query, Redis answers
a PING, and the log (still the embedded SQLite file; Kafka is issue #10) takes a write probe with
disk to spare. A replica that is down or lagging does not make a process unready: reads go to
the primary meanwhile (its state is on /metrics and in ``roost cluster status``). Load balancers
poll /ready, so the result is reused for ``ready_cache_seconds`` (ReusedReport).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector
from redis.asyncio import Redis
from redis.exceptions import RedisError

from roost.adapters.embedded import SqliteLog
from roost.adapters.embedded.readiness import Report, ReusedReport, disk_check
from roost.adapters.postgres import PgDatabase
from roost.adapters.postgres.database import PgShard
from roost.errors import RoostError
from roost.runtime.read_your_writes import ReadYourWrites


class ClusterReadiness(ReusedReport):
    def __init__(self, db: PgDatabase, redis: Redis, log: SqliteLog, log_dir: Path, *,
                 timeout: float, min_free_bytes: int, cache_seconds: float) -> None:
        super().__init__(cache_seconds)
        self._db = db
        self._redis = redis
        self._log = log
        self._log_dir = log_dir
        self._timeout = timeout
        self._min_free = min_free_bytes

    async def run_checks(self) -> Report:
        names = [s.primary.name for s in self._db.shards]
        answers = await asyncio.gather(*(self._primary(s) for s in self._db.shards), self._ping_redis(),
                                       self._probe_log())
        checks = dict(zip([*names, "redis", "log"], answers, strict=True))
        checks["disk"], free = disk_check(self._log_dir, self._min_free)
        return Report(all(v == "ok" for v in checks.values()), checks, free, self._min_free)

    async def _primary(self, shard: PgShard) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                async with shard.transaction() as tx:
                    await tx.fetch_one("SELECT 1")
        except RoostError as exc:
            return f"unavailable: {exc.message}"
        except TimeoutError:
            return f"unavailable: no answer within {self._timeout:.0f} s"
        return "ok"

    async def _ping_redis(self) -> str:
        try:
            async with asyncio.timeout(self._timeout):
                await self._redis.ping()
        except (RedisError, OSError, TimeoutError) as exc:
            return f"unavailable: {type(exc).__name__}: {exc}"
        return "ok"

    async def _probe_log(self) -> str:
        try:
            await self._log.probe()
        except RoostError as exc:
            return f"unavailable: {exc.message}"
        except sqlite3.Error as exc:
            return f"error: {exc}"
        return "ok"


class ReadYourWritesMetrics(Collector):
    """How often requests carried a token of their own writes, and wrote one."""

    def __init__(self, sessions: ReadYourWrites) -> None:
        self._sessions = sessions

    def collect(self) -> Iterator[Any]:
        s = self._sessions
        yield CounterMetricFamily("roost_read_your_writes_sessions_loaded",
                                  "Requests whose reads had to see their caller's earlier writes",
                                  value=s.sessions_loaded)
        yield CounterMetricFamily("roost_read_your_writes_sessions_saved",
                                  "Requests that committed writes their caller must read back",
                                  value=s.sessions_saved)
        yield CounterMetricFamily("roost_read_your_writes_redis_errors",
                                  "Tokens not loaded or saved because Redis did not answer",
                                  value=s.redis_errors)
