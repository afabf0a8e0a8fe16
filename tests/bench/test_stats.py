"""Percentile maths on samples whose answers are known."""

from __future__ import annotations

import math
import random

import pytest

from roost.bench.stats import Histogram, LatencySummary, nearest_rank, percentile


def test_percentiles_of_one_to_a_hundred() -> None:
    samples = list(range(1, 101))
    assert percentile(samples, 50) == 50
    assert percentile(samples, 90) == 90
    assert percentile(samples, 99) == 99
    assert percentile(samples, 99.9) == 100
    assert percentile(samples, 100) == 100
    assert percentile(samples, 0) == 1


def test_percentiles_of_one_to_a_thousand() -> None:
    samples = list(range(1000, 0, -1))  # order must not matter
    assert percentile(samples, 50) == 500
    assert percentile(samples, 99) == 990
    assert percentile(samples, 99.9) == 999


def test_nearest_rank_edges() -> None:
    assert nearest_rank(1, 50) == 1
    assert nearest_rank(10, 50) == 5
    assert nearest_rank(10, 51) == 6
    assert nearest_rank(3, 99.9) == 3
    with pytest.raises(ValueError):
        nearest_rank(0, 50)
    with pytest.raises(ValueError):
        nearest_rank(10, 101)


def test_a_skewed_sample() -> None:
    # 98 fast answers and 2 slow ones: p50 and p90 are fast, p99 is slow.
    samples = [1.0] * 98 + [500.0, 900.0]
    assert percentile(samples, 50) == 1.0
    assert percentile(samples, 98) == 1.0
    assert percentile(samples, 99) == 500.0
    assert percentile(samples, 99.9) == 900.0


def test_histogram_agrees_with_raw_samples() -> None:
    rng = random.Random(3)
    samples = [int(rng.lognormvariate(7, 1)) for _ in range(10_001)]
    hist = Histogram()
    for s in samples:
        hist.record(s)
    for p in (0, 1, 50, 90, 99, 99.9, 100):
        assert hist.percentile(p) == percentile(samples, p)
    assert hist.percentiles([50, 99]) == {50: percentile(samples, 50), 99: percentile(samples, 99)}
    assert hist.count == len(samples)
    assert hist.max() == max(samples)
    assert hist.min() == min(samples)
    assert math.isclose(hist.mean(), sum(samples) / len(samples))


def test_merged_histograms_equal_one_histogram_of_everything() -> None:
    a, b, both = Histogram(), Histogram(), Histogram()
    for v in range(1, 51):
        a.record(v)
        both.record(v)
    for v in range(51, 101):
        b.record(v, 2)
        both.record(v, 2)
    a.merge(b)
    assert a.pairs() == both.pairs()
    assert a.percentile(50) == both.percentile(50) == 63


def test_histogram_from_quantile_grid_reads_back_the_grid() -> None:
    grid = [(50.0, 1000), (90.0, 4000), (99.0, 9000), (100.0, 20_000)]
    hist = Histogram.from_quantiles(grid, count=1000)
    assert hist.count == 1000
    assert hist.percentile(50) == 1000
    assert hist.percentile(90) == 4000
    assert hist.percentile(99) == 9000
    assert hist.percentile(100) == 20_000


def test_latency_summary_in_milliseconds() -> None:
    hist = Histogram({v * 1000: 1 for v in range(1, 1001)})
    summary = LatencySummary.of(hist)
    assert summary.count == 1000
    assert summary.p50_ms == 500
    assert summary.p90_ms == 900
    assert summary.p99_ms == 990
    assert summary.p999_ms == 999
    assert summary.max_ms == 1000


def test_empty_summary_is_nan_not_zero() -> None:
    summary = LatencySummary.of(Histogram())
    assert summary.count == 0
    assert math.isnan(summary.p99_ms)


def test_negative_latency_is_rejected() -> None:
    with pytest.raises(ValueError):
        Histogram().record(-1)
