"""Closed-loop load with wrk (Debian's wrk 4.1, LuaJIT scripting).

Why wrk: it is C with an epoll loop per thread, so one wrk thread drives
tens of thousands of requests per second on one core, several times what a
Python driver manages, and it is a well-kept Debian package. The Lua hooks
(bench/*.lua) give what a social workload needs: a different bearer token
per request, chosen Zipf-wise from the seeded accounts; per-status-code
counts; and a JSON summary written by ``done()`` with the latency
distribution and a per-second series. wrk is closed-loop only (wrk2, its
constant-rate fork, is not packaged), so open-loop runs use
:mod:`roost.bench.openloop` instead.

Each call runs wrk once for one slice of a run; :mod:`roost.bench.runner`
strings slices together (for time series and for ``--compare``).
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from roost.bench.outcome import Bucket, SliceOutcome
from roost.bench.stats import Histogram

LUA_ENV = "ROOST_BENCH_LUA_DIR"


class WrkError(RuntimeError):
    pass


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise WrkError("wrk is not installed (Debian: apt-get install wrk)")
    return found


def wrk_version() -> str:
    try:
        out = subprocess.run([wrk_binary(), "-v"], capture_output=True, text=True, timeout=5)
    except (WrkError, OSError, subprocess.SubprocessError):
        return "wrk (not found)"
    first = (out.stdout or out.stderr).strip().splitlines()
    return first[0].split(" Copyright")[0].strip() if first else "wrk"


def lua_dir() -> Path:
    """The bench/ folder holding the Lua scripts.

    The scripts live in the repository's bench/ folder next to src/; an
    installed copy can point elsewhere with $ROOST_BENCH_LUA_DIR.
    """
    configured = os.environ.get(LUA_ENV)
    candidates = [Path(configured)] if configured else []
    candidates.append(Path(__file__).resolve().parents[3] / "bench")
    candidates.append(Path.cwd() / "bench")
    for candidate in candidates:
        if (candidate / "lib.lua").is_file():
            return candidate
    raise WrkError(f"cannot find bench/lib.lua; set ${LUA_ENV} to the folder holding it")


@dataclass(frozen=True, slots=True)
class WrkJob:
    url: str
    script: Path
    connections: int
    threads: int
    duration_s: int
    timeout_s: float = 5.0
    env: Mapping[str, str] = field(default_factory=dict)
    label: str = "closed"

    def command(self) -> list[str]:
        return [
            wrk_binary(),
            f"--threads={min(self.threads, self.connections)}",
            f"--connections={self.connections}",
            f"--duration={self.duration_s}s",
            f"--timeout={math.ceil(self.timeout_s)}s",
            f"--script={self.script}",
            self.url,
        ]


async def run_wrk(job: WrkJob) -> SliceOutcome:
    with tempfile.TemporaryDirectory(prefix="roost-wrk-") as tmp:
        out = Path(tmp) / "summary.json"
        started = time.time()
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        env = {**os.environ, **job.env, "ROOST_BENCH_OUT": str(out),
               "ROOST_BENCH_T0_MS": str(int(started * 1000))}
        proc = await asyncio.create_subprocess_exec(
            *job.command(), env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        try:
            stdout, stderr = await asyncio.wait_for(
                proc.communicate(), timeout=job.duration_s + job.timeout_s + 30
            )
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise WrkError(f"wrk did not finish within its time bound: {job.command()}") from None
        except asyncio.CancelledError:
            # Our own child: never leave it loading the server behind us.
            proc.kill()
            await proc.wait()
            raise
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0 or not out.exists():
            raise WrkError(
                f"wrk failed (exit {proc.returncode}): {stderr.decode(errors='replace').strip()}"
                f" {stdout.decode(errors='replace').strip()[-500:]}"
            )
        if stderr.strip():
            # Lua errors inside request() are printed but do not stop wrk.
            raise WrkError(f"wrk script error: {stderr.decode(errors='replace').strip()[:500]}")
        outcome = parse_summary(orjson.loads(out.read_bytes()), started, job.label)
        outcome.loadgen_cpu_s = cpu
        return outcome


def parse_summary(data: dict[str, Any], started: float, label: str) -> SliceOutcome:
    """Turn the JSON written by bench/lib.lua's ``done()`` into a slice."""
    if "latency_hist" in data:
        hist = Histogram.from_pairs(data["latency_hist"])
    else:
        hist = Histogram.from_quantiles(data["latency_quantiles"], int(data["latency_count"]))
    width = data["bucket_ms"] / 1000.0
    t0 = data.get("t0_ms", 0) / 1000.0
    errors = {int(b): int(n) for b, n in data.get("bucket_errors", [])}
    buckets = [
        Bucket(t0 + int(b) * width, width, int(n), errors.get(int(b), 0))
        for b, n in sorted(data.get("buckets", []))
    ]
    duration_s = data["duration_us"] / 1_000_000
    if "done_ms" in data:
        # wrk's clock starts after its threads have loaded their scripts and
        # connected, which can take a while with many tokens: the window is
        # the ``duration`` before done() ran, not the one after the spawn.
        started = data["done_ms"] / 1000.0 - duration_s
    return SliceOutcome(
        label=label,
        started=started,
        duration_s=duration_s,
        requests=int(data["requests"]),
        hist=hist,
        codes={int(k): int(v) for k, v in data.get("codes", {}).items()},
        socket_errors={k: int(v) for k, v in data.get("socket_errors", {}).items()},
        buckets=buckets,
    )
