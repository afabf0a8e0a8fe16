"""The figures of a benchmark run and their JSON form (bench/results/*.json).

One :class:`BenchRecord` per run: the results of each side (one side, or two
in a ``--compare`` run), fanout-lag summaries, the ratio between the sides,
the exact command and the conditions it ran under. ``roost bench report``
reads nothing but these files.
"""

from __future__ import annotations

import math
import types
import typing
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson

from roost.bench.stats import LatencySummary

SCHEMA_VERSION = 1
T = TypeVar("T")


@dataclass(slots=True)
class SeriesPoint:
    """One point of the time series: seconds since the run began."""

    t: float
    rps: float
    errors: int
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None


@dataclass(slots=True)
class LoadResult:
    label: str
    workload: str
    target: str
    mode: str  # "closed" (wrk) or "open" (fixed arrival rate, asyncio driver)
    tool: str
    connections: int
    threads: int
    duration_s: float
    requests: int
    throughput_rps: float
    latency: LatencySummary
    status_codes: dict[str, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    rate: float | None = None
    scheduled: int | None = None
    unsent: int = 0
    slices: int = 1
    # CPU seconds the load generator used (wrk's, or this process's for the
    # open-loop driver), and per response: 1e6 / that is roughly how many
    # responses per second one core of load generator could handle.
    loadgen_cpu_s: float = 0.0
    series: list[SeriesPoint] = field(default_factory=list)

    @property
    def loadgen_us_per_response(self) -> float | None:
        if not self.requests or not self.loadgen_cpu_s:
            return None
        return self.loadgen_cpu_s / self.requests * 1_000_000


@dataclass(slots=True)
class FanoutSummary:
    author_kind: str  # "normal" or "celebrity"
    posts: int
    delivered: int
    missing: int
    followers_per_post: float
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None
    timeout_s: float
    poll_interval_ms: float
    missing_deliveries: int = 0
    post_errors: int = 0
    immediate: int = 0
    first_poll_p50_ms: float | None = None


@dataclass(slots=True)
class Conditions:
    date: str
    commit: str
    commit_dirty: bool
    cores: int
    cpu_model: str
    loadavg_1m: float
    python: str
    platform: str
    load_tool: str
    target_info: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class BenchRecord:
    name: str
    kind: str  # "load", "compare" or "fanout"
    command: str
    conditions: Conditions
    graph: dict[str, Any] | None = None
    results: list[LoadResult] = field(default_factory=list)
    fanout: list[FanoutSummary] = field(default_factory=list)
    # compare runs: throughput of the first side over the second, overall
    # and per pair of neighbouring slices.
    ratio: float | None = None
    ratio_median: float | None = None
    ratio_pairs: list[float] = field(default_factory=list)
    schema: int = SCHEMA_VERSION

    def to_json(self) -> bytes:
        return orjson.dumps(_scrub(asdict(self)), option=orjson.OPT_INDENT_2)

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.to_json())

    @classmethod
    def load(cls, path: Path) -> BenchRecord:
        data = orjson.loads(path.read_bytes())
        if data.get("schema") != SCHEMA_VERSION:
            raise ValueError(f"{path}: unsupported schema {data.get('schema')!r}")
        return decode(cls, data)


def _scrub(value: Any) -> Any:
    # JSON has no NaN; an empty latency summary is written as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v) for v in value]
    return value


def decode(cls: type[T], data: Any) -> T:
    """Build dataclass ``cls`` from JSON data, following its type hints."""
    return typing.cast(T, _decode(cls, data))


def _decode(tp: Any, value: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _decode(inner[0], value)
    if origin is list:
        (item,) = typing.get_args(tp)
        return [_decode(item, v) for v in value]
    if origin is dict:
        _, item = typing.get_args(tp)
        return {str(k): _decode(item, v) for k, v in value.items()}
    if isinstance(tp, type) and is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        kwargs = {f.name: _decode(hints[f.name], value[f.name]) for f in fields(tp) if f.name in value}
        return tp(**kwargs)
    if tp is float:
        return math.nan if value is None else float(value)
    return value
