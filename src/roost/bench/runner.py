"""Run load in slices and merge the slices into per-side figures.

A run is cut into slices of a few seconds. Slices give the time series its
latency points (wrk reports one distribution per invocation) and make
``--compare`` honest: the two sides take turns in A B B A order, so a drift
in machine speed during the run (another tenant, thermal throttling, a
cache warming up) hits both sides alike and cancels out of their ratio,
which is reported overall and per neighbouring pair of slices.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from urllib.parse import urlsplit

from roost.bench.openloop import OpenLoopConfig, run_open_loop
from roost.bench.outcome import SliceOutcome
from roost.bench.results import LoadResult, SeriesPoint
from roost.bench.stats import Histogram, LatencySummary
from roost.bench.workloads import RequestSource, Workload, WorkloadData, request_source
from roost.bench.wrk import WrkJob, lua_dir, run_wrk


@dataclass(frozen=True, slots=True)
class Side:
    label: str
    target: str
    workload: Workload
    # This side's own seeded accounts (another deployment seeded with the same graph
    # has other ids and tokens); None: the run's.
    data: WorkloadData | None = None


@dataclass(frozen=True, slots=True)
class LoadPlan:
    sides: tuple[Side, ...]
    connections: int
    duration_s: float
    threads: int = 1
    slice_s: float = 5.0
    warmup_s: float = 1.0
    rate: float | None = None
    timeout_s: float = 5.0
    zipf_s: float = 1.0

    @property
    def mode(self) -> str:
        return "closed" if self.rate is None else "open"

    def slice_lengths(self) -> list[float]:
        count = max(1, math.ceil(self.duration_s / self.slice_s - 1e-9))
        length = self.duration_s / count
        if self.rate is None:
            # wrk takes whole seconds.
            length = float(max(1, round(length)))
        return [length] * count


@dataclass(slots=True)
class LoadOutcome:
    results: list[LoadResult]
    ratio_pairs: list[float]

    @property
    def ratio(self) -> float | None:
        if len(self.results) != 2 or not self.results[1].throughput_rps:
            return None
        return self.results[0].throughput_rps / self.results[1].throughput_rps

    @property
    def ratio_median(self) -> float | None:
        return statistics.median(self.ratio_pairs) if self.ratio_pairs else None


class _Engine:
    def __init__(self, plan: LoadPlan, data: WorkloadData | None, folder: Path) -> None:
        self._plan = plan
        self._data = data
        self._envs: dict[str, dict[str, str]] = {}
        for k, side in enumerate(plan.sides):
            side_data = side.data or data
            env = side_data.write_files(_subfolder(folder, k)) if side_data is not None else {}
            env["ROOST_BENCH_ZIPF"] = str(plan.zipf_s)
            self._envs[side.label] = env
        self._sources: dict[str, RequestSource] = {}

    async def run(self, side: Side, seconds: float) -> SliceOutcome:
        plan = self._plan
        if plan.rate is None:
            job = WrkJob(
                url=side.target.rstrip("/") + side.workload.path,
                script=lua_dir() / side.workload.script,
                connections=plan.connections,
                threads=plan.threads,
                duration_s=max(1, round(seconds)),
                timeout_s=plan.timeout_s,
                env=self._envs[side.label],
                label=side.label,
            )
            return await run_wrk(job)
        source = self._sources.get(side.label)
        if source is None:
            source = self._sources[side.label] = request_source(
                side.workload, side.target, side.data or self._data, plan.zipf_s
            )
        parts = urlsplit(side.target)
        config = OpenLoopConfig(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or 80,
            rate=plan.rate,
            duration_s=seconds,
            connections=plan.connections,
            timeout_s=plan.timeout_s,
            label=side.label,
        )
        return await run_open_loop(config, source)


async def run_load(plan: LoadPlan, data: WorkloadData | None, log: TextIO | None = None) -> LoadOutcome:
    out = log if log is not None else sys.stderr
    with tempfile.TemporaryDirectory(prefix="roost-bench-") as tmp:
        engine = _Engine(plan, data, Path(tmp))
        if plan.warmup_s > 0:
            for side in plan.sides:
                print(f"  warm-up {side.label}: {plan.warmup_s:g}s", file=out, flush=True)
                await engine.run(side, plan.warmup_s)
        slices: dict[str, list[SliceOutcome]] = {side.label: [] for side in plan.sides}
        for k, length in enumerate(plan.slice_lengths()):
            # A B, then B A: a linear drift in machine speed cancels out.
            order = plan.sides if k % 2 == 0 else tuple(reversed(plan.sides))
            for side in order:
                outcome = await engine.run(side, length)
                slices[side.label].append(outcome)
                rps = outcome.requests / outcome.duration_s if outcome.duration_s else 0.0
                print(f"  slice {k + 1} {side.label}: {rps:,.0f} req/s", file=out, flush=True)
    run_start = min(s.started for outcomes in slices.values() for s in outcomes)
    results = [merge_slices(side, slices[side.label], plan, run_start) for side in plan.sides]
    pairs: list[float] = []
    if len(plan.sides) == 2:
        a, b = (slices[side.label] for side in plan.sides)
        for sa, sb in zip(a, b, strict=True):
            if sb.requests:
                pairs.append((sa.requests / sa.duration_s) / (sb.requests / sb.duration_s))
    return LoadOutcome(results, pairs)


def _subfolder(folder: Path, k: int) -> Path:
    path = folder / f"side{k}"
    path.mkdir(exist_ok=True)
    return path


def merge_slices(side: Side, outcomes: Sequence[SliceOutcome], plan: LoadPlan, run_start: float) -> LoadResult:
    hist = Histogram()
    codes: dict[str, int] = {}
    socket_errors: dict[str, int] = {}
    for outcome in outcomes:
        hist.merge(outcome.hist)
        for code, n in outcome.codes.items():
            codes[str(code)] = codes.get(str(code), 0) + n
        for kind, n in outcome.socket_errors.items():
            socket_errors[kind] = socket_errors.get(kind, 0) + n
    requests = sum(o.requests for o in outcomes)
    duration = sum(o.duration_s for o in outcomes)
    error_responses = sum(n for code, n in codes.items() if int(code) >= 400)
    failed = sum(n for kind, n in socket_errors.items() if kind != "late")
    scheduled = [o.scheduled for o in outcomes if o.scheduled is not None]
    return LoadResult(
        label=side.label,
        workload=side.workload.name,
        target=side.target,
        mode=plan.mode,
        tool="wrk" if plan.rate is None else "asyncio-open-loop",
        connections=plan.connections,
        threads=min(plan.threads, plan.connections) if plan.rate is None else 1,
        duration_s=round(duration, 3),
        requests=requests,
        throughput_rps=requests / duration if duration else 0.0,
        latency=LatencySummary.of(hist),
        status_codes=dict(sorted(codes.items())),
        socket_errors=socket_errors,
        errors=error_responses + failed,
        rate=plan.rate,
        scheduled=sum(scheduled) if scheduled else None,
        unsent=sum(o.unsent for o in outcomes),
        slices=len(outcomes),
        loadgen_cpu_s=round(sum(o.loadgen_cpu_s for o in outcomes), 3),
        series=series_points(outcomes, run_start),
    )


def series_points(outcomes: Sequence[SliceOutcome], run_start: float) -> list[SeriesPoint]:
    points: list[SeriesPoint] = []
    for outcome in outcomes:
        slice_ps = outcome.hist.percentiles((50, 90, 99)) if outcome.hist.count else {}
        for bucket in outcome.buckets:
            begin = max(bucket.start, outcome.started)
            covered = min(bucket.start + bucket.width, outcome.finished) - begin
            # A sliver of a bucket at a slice edge gives a wild rate: skip it.
            if covered < bucket.width * 0.25:
                continue
            ps = bucket.hist.percentiles((50, 90, 99)) if bucket.hist and bucket.hist.count else slice_ps
            points.append(SeriesPoint(
                t=round(begin - run_start, 3),
                rps=bucket.requests / covered,
                errors=bucket.errors,
                p50_ms=ps[50] / 1000 if ps else None,
                p90_ms=ps[90] / 1000 if ps else None,
                p99_ms=ps[99] / 1000 if ps else None,
            ))
    return points
