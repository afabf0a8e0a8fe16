"""What one slice of load produced, whichever engine (wrk or asyncio) made it.

Internal: :mod:`roost.bench.runner` merges slices into the figures of
:mod:`roost.bench.results`, which is what gets written down.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from roost.bench.stats import Histogram


@dataclass(slots=True)
class Bucket:
    """Completions within one time bucket (wall clock, seconds since the epoch)."""

    start: float
    width: float
    requests: int
    errors: int = 0
    # Only the open-loop driver can time each request within a bucket; wrk
    # gives one distribution per slice.
    hist: Histogram | None = None


@dataclass(slots=True)
class SliceOutcome:
    label: str
    started: float
    duration_s: float
    requests: int
    hist: Histogram
    codes: dict[int, int] = field(default_factory=dict)
    socket_errors: dict[str, int] = field(default_factory=dict)
    buckets: list[Bucket] = field(default_factory=list)
    # Open loop only: requests the schedule called for, and how many of them
    # were never sent because the run ended while they still waited.
    scheduled: int | None = None
    unsent: int = 0
    # CPU seconds the load generator itself used: the evidence that it was
    # not the bottleneck.
    loadgen_cpu_s: float = 0.0

    @property
    def finished(self) -> float:
        return self.started + self.duration_s

    @property
    def error_responses(self) -> int:
        return sum(n for code, n in self.codes.items() if code >= 400)
