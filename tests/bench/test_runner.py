"""Merging slices into figures, and the slice schedule."""

from __future__ import annotations

from roost.bench.outcome import Bucket, SliceOutcome
from roost.bench.runner import LoadPlan, Side, merge_slices
from roost.bench.stats import Histogram
from roost.bench.workloads import WORKLOADS

SIDE = Side("home", "http://127.0.0.1:1", WORKLOADS["home"])


def outcome(started: float, requests: int, latency_us: int, codes: dict[int, int]) -> SliceOutcome:
    return SliceOutcome(
        label="home", started=started, duration_s=2.0, requests=requests,
        hist=Histogram({latency_us: requests}), codes=codes,
        socket_errors={"connect": 0, "read": 1, "write": 0, "timeout": 0},
        buckets=[Bucket(started, 1.0, requests // 2), Bucket(started + 1, 1.0, requests - requests // 2),
                 Bucket(started + 2, 1.0, 1)],
    )


def test_slices_merge_into_one_figure() -> None:
    plan = LoadPlan(sides=(SIDE,), connections=8, duration_s=4, slice_s=2)
    a = outcome(100.0, 200, 1000, {200: 190, 500: 10})
    b = outcome(104.0, 600, 3000, {200: 600})
    result = merge_slices(SIDE, [a, b], plan, run_start=100.0)
    assert result.requests == 800
    assert result.duration_s == 4.0
    assert result.throughput_rps == 200.0
    assert result.status_codes == {"200": 790, "500": 10}
    assert result.errors == 10 + 2  # error responses + socket read errors
    assert result.latency.p50_ms == 3.0  # 600 of 800 samples took 3 ms
    assert result.latency.p90_ms == 3.0
    # The sliver bucket past each slice's end is dropped; times are run-relative.
    assert [p.t for p in result.series] == [0.0, 1.0, 4.0, 5.0]
    assert [p.rps for p in result.series] == [100.0, 100.0, 300.0, 300.0]
    assert result.series[0].p50_ms == 1.0 and result.series[2].p50_ms == 3.0


def test_slice_lengths() -> None:
    assert LoadPlan(sides=(SIDE,), connections=1, duration_s=30, slice_s=5).slice_lengths() == [5.0] * 6
    assert LoadPlan(sides=(SIDE,), connections=1, duration_s=3, slice_s=5).slice_lengths() == [3.0]
    # wrk takes whole seconds; the open-loop driver does not.
    assert LoadPlan(sides=(SIDE,), connections=1, duration_s=2.5, slice_s=5).slice_lengths() == [2.0]
    assert LoadPlan(sides=(SIDE,), connections=1, duration_s=2.5, slice_s=5, rate=10).slice_lengths() == [2.5]
