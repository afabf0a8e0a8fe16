"""Latency histograms and percentiles.

Every latency the harness sees, from wrk or from the open-loop driver, ends up
in a :class:`Histogram` of whole microseconds, so slices of a run and the two
sides of a ``--compare`` run merge exactly before any percentile is taken
(averaging percentiles of slices would be wrong).

Percentiles use the nearest-rank definition (the smallest recorded value such
that at least p% of all values are at or below it), which is what wrk and
HdrHistogram report, so figures from both load generators compare.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

PERCENTILES: tuple[float, ...] = (50.0, 90.0, 99.0, 99.9)


def nearest_rank(count: int, p: float) -> int:
    """1-based rank of the p-th percentile among ``count`` ordered values."""
    if count <= 0:
        raise ValueError("no values")
    if not 0.0 <= p <= 100.0:
        raise ValueError(f"percentile out of range: {p}")
    # Rounding first keeps 99.9% of 1000 at rank 999 despite float error.
    return max(1, math.ceil(round(p / 100.0 * count, 9)))


def percentile(samples: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of raw samples (sorted here, not in place)."""
    ordered = sorted(samples)
    return ordered[nearest_rank(len(ordered), p) - 1]


class Histogram:
    """Counts of integer microsecond latencies; exact and mergeable."""

    __slots__ = ("_counts", "_total")

    def __init__(self, counts: Mapping[int, int] | None = None) -> None:
        self._counts: dict[int, int] = {}
        self._total = 0
        if counts:
            for value, n in counts.items():
                self.record(value, n)

    @classmethod
    def from_pairs(cls, pairs: Iterable[Sequence[float]]) -> Histogram:
        hist = cls()
        for value, n in pairs:
            hist.record(int(value), int(n))
        return hist

    @classmethod
    def from_quantiles(cls, quantiles: Iterable[Sequence[float]], count: int) -> Histogram:
        """Rebuild a histogram from a quantile grid ``[(p, value), ...]``.

        Each grid value carries the mass between its percentile and the one
        before, so percentiles read back are exact on the grid and within one
        grid step between; wrk hands over such a grid when its own histogram
        is too wide to walk (see bench/lib.lua).
        """
        hist = cls()
        previous = 0
        for p, value in sorted((float(q[0]), float(q[1])) for q in quantiles):
            cumulative = round(p / 100.0 * count)
            if cumulative > previous:
                hist.record(int(value), cumulative - previous)
                previous = cumulative
        return hist

    def record(self, value: int, n: int = 1) -> None:
        if n <= 0:
            return
        if value < 0:
            raise ValueError(f"negative latency: {value}")
        self._counts[value] = self._counts.get(value, 0) + n
        self._total += n

    def merge(self, other: Histogram) -> None:
        for value, n in other._counts.items():
            self.record(value, n)

    @property
    def count(self) -> int:
        return self._total

    def __len__(self) -> int:
        return self._total

    def pairs(self) -> list[tuple[int, int]]:
        return sorted(self._counts.items())

    def percentile(self, p: float) -> int:
        rank = nearest_rank(self._total, p)
        seen = 0
        for value, n in sorted(self._counts.items()):
            seen += n
            if seen >= rank:
                return value
        raise AssertionError("unreachable: ranks never exceed the total")

    def percentiles(self, ps: Iterable[float]) -> dict[float, int]:
        """Several percentiles in one sorted pass."""
        wanted = sorted(ps)
        result: dict[float, int] = {}
        if not wanted:
            return result
        ranks = [(nearest_rank(self._total, p), p) for p in wanted]
        seen = 0
        i = 0
        for value, n in sorted(self._counts.items()):
            seen += n
            while i < len(ranks) and seen >= ranks[i][0]:
                result[ranks[i][1]] = value
                i += 1
            if i == len(ranks):
                break
        return result

    def mean(self) -> float:
        if not self._total:
            raise ValueError("no values")
        return sum(v * n for v, n in self._counts.items()) / self._total

    def max(self) -> int:
        if not self._total:
            raise ValueError("no values")
        return max(self._counts)

    def min(self) -> int:
        if not self._total:
            raise ValueError("no values")
        return min(self._counts)


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """The figures a human reads, in milliseconds."""

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float

    @classmethod
    def of(cls, hist: Histogram) -> LatencySummary:
        if not hist.count:
            return cls(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
        ps = hist.percentiles(PERCENTILES)
        return cls(
            count=hist.count,
            mean_ms=hist.mean() / 1000.0,
            p50_ms=ps[50.0] / 1000.0,
            p90_ms=ps[90.0] / 1000.0,
            p99_ms=ps[99.0] / 1000.0,
            p999_ms=ps[99.9] / 1000.0,
            max_ms=hist.max() / 1000.0,
        )
