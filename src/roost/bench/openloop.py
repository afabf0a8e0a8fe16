"""Open-loop load: a fixed arrival rate, latency timed from the intended send.

Why this exists: wrk is closed-loop (each connection sends its next request
only when the previous answer is back), so when the server stalls, wrk
simply sends less and the stall shows up in few samples: coordinated
omission. wrk2 fixes that with a constant-rate schedule but is not
installable here, so this driver does what wrk2 does, in asyncio:

- Request ``i`` is due at ``start + i / rate``, whatever happened before.
- ``connections`` workers each own one keep-alive connection
  (:mod:`roost.bench.http1`) and take the next due request in order. A worker
  sleeps if it is early; if the server is behind, it sends at once, late.
- Latency is ``completion - due time``, so time spent waiting for a free
  connection is counted, as a user would feel it.
- When the schedule ends, in-flight requests get ``timeout_s`` to finish;
  then whatever is still pending or was never sent counts as a timeout with
  the latency it had reached by then, rather than silently disappearing.

It is one Python process: its own ceiling (measured against
bench/raw_asgi.py, see docs/PERFORMANCE.md) bounds the rates it can offer.
Asking for more than that shows up as requests sent late, reported as
``late`` in the summary.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from roost.bench.http1 import H1Connection
from roost.bench.outcome import Bucket, SliceOutcome
from roost.bench.stats import Histogram

_WAKE_EARLY_S = 0.001

RequestSource = Callable[[int], bytes]
"""Request ``i`` of the schedule, as complete HTTP/1.1 request bytes."""


@dataclass(frozen=True, slots=True)
class OpenLoopConfig:
    host: str
    port: int
    rate: float
    duration_s: float
    connections: int
    timeout_s: float = 10.0
    bucket_s: float = 1.0
    label: str = "open"


class _Recorder:
    def __init__(self, bucket_s: float, wall_start: float) -> None:
        self.wall_start = wall_start
        self.hist = Histogram()
        self.codes: dict[int, int] = {}
        self.socket_errors: dict[str, int] = {"connect": 0, "read": 0, "timeout": 0}
        self.buckets: dict[int, Bucket] = {}
        self.bucket_s = bucket_s
        self.completed = 0
        self.late = 0

    def record(self, wall_done: float, latency_s: float, status: int | None) -> None:
        latency_us = max(0, int(latency_s * 1_000_000))
        self.hist.record(latency_us)
        key = math.floor((wall_done - self.wall_start) / self.bucket_s)
        bucket = self.buckets.get(key)
        if bucket is None:
            start = self.wall_start + key * self.bucket_s
            bucket = self.buckets[key] = Bucket(start, self.bucket_s, 0, 0, Histogram())
        bucket.requests += 1
        assert bucket.hist is not None
        bucket.hist.record(latency_us)
        if status is None:
            bucket.errors += 1
            return
        self.completed += 1
        self.codes[status] = self.codes.get(status, 0) + 1
        if status >= 400:
            bucket.errors += 1


async def run_open_loop(config: OpenLoopConfig, source: RequestSource) -> SliceOutcome:
    if config.rate <= 0 or config.connections < 1:
        raise ValueError("rate and connections must be positive")
    loop = asyncio.get_running_loop()
    total = int(config.rate * config.duration_s)
    interval = 1.0 / config.rate
    cpu_before = time.process_time()
    conns = await asyncio.gather(
        *(H1Connection.open(config.host, config.port) for _ in range(config.connections))
    )
    # Both clocks are read once, so due times convert to wall time exactly.
    start = loop.time() + 0.01
    wall_offset = time.time() - loop.time()
    rec = _Recorder(config.bucket_s, start + wall_offset)
    deadline = start + config.duration_s + config.timeout_s
    next_index = 0
    # slot -> (due time, sent yet): what each worker holds, so a worker
    # cancelled at the deadline still has its request accounted for.
    holding: dict[int, tuple[float, bool]] = {}

    async def worker(slot: int) -> None:
        nonlocal next_index
        conn: H1Connection | None = conns[slot]
        while next_index < total:
            i = next_index
            next_index += 1
            due = start + i * interval
            holding[slot] = (due, False)
            delay = due - loop.time()
            if delay > _WAKE_EARLY_S:
                # epoll sleeps in whole milliseconds, rounded up: wake a bit
                # early and send, instead of late by up to a millisecond.
                await asyncio.sleep(delay - _WAKE_EARLY_S)
            elif delay < -_WAKE_EARLY_S:
                rec.late += 1
            status: int | None = None
            if conn is None or not conn.usable:
                if conn is not None:
                    conn.close()
                try:
                    conn = await H1Connection.open(config.host, config.port)
                except OSError:
                    rec.socket_errors["connect"] += 1
                    conn = None
                    del holding[slot]
                    now = loop.time()
                    rec.record(now + wall_offset, now - due, None)
                    continue
            try:
                # Timed from the due time, or from the actual send if that
                # was (slightly) early: never less than the real round trip.
                due = min(due, loop.time())
                holding[slot] = (due, True)
                status = await conn.request(source(i))
            except (ConnectionError, OSError):
                rec.socket_errors["read"] += 1
                if conn is not None:
                    conn.close()
                conn = None
            del holding[slot]
            now = loop.time()
            rec.record(now + wall_offset, now - due, status)
        if conn is not None:
            conn.close()

    tasks = [asyncio.create_task(worker(slot)) for slot in range(config.connections)]
    _, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    ended = loop.time()
    # At the deadline: requests still waiting for an answer are timeouts;
    # requests due but never sent are "unsent". Both keep the latency they
    # had reached, so a stalled server cannot hide behind missing samples.
    unsent = total - next_index
    for due, sent in holding.values():
        rec.socket_errors["timeout"] += 1
        unsent += not sent
        rec.record(ended + wall_offset, ended - due, None)
    for i in range(next_index, total):
        rec.socket_errors["timeout"] += 1
        rec.record(ended + wall_offset, max(0.0, ended - (start + i * interval)), None)
    for conn in conns:
        conn.close()
    return SliceOutcome(
        label=config.label,
        started=start + wall_offset,
        duration_s=config.duration_s,
        requests=rec.completed,
        hist=rec.hist,
        codes=rec.codes,
        socket_errors={**rec.socket_errors, "late": rec.late},
        buckets=[rec.buckets[k] for k in sorted(rec.buckets)],
        scheduled=total,
        unsent=unsent,
        loadgen_cpu_s=time.process_time() - cpu_before,
    )
