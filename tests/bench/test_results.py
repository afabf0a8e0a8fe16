"""Result files round-trip, and docs/PERFORMANCE.md is generated from them."""

from __future__ import annotations

import math
from pathlib import Path

from roost.bench.report import PREAMBLE, write_report
from roost.bench.results import BenchRecord, Conditions, FanoutSummary, LoadResult, SeriesPoint
from roost.bench.stats import LatencySummary


def conditions(shape: str = "embedded") -> Conditions:
    return Conditions(
        date="2026-11-28T00:00:00+00:00", commit="0123456789abcdef", commit_dirty=False, cores=2,
        cpu_model="AMD EPYC", loadavg_1m=0.5, python="3.11.7", platform="Linux", load_tool="wrk 4.1.0",
        target_info={"targets": [{"url": "http://127.0.0.1:8181", "ready": {"body": {"shape": shape}}}]},
    )


def load(workload: str, rps: float) -> LoadResult:
    return LoadResult(
        label=workload, workload=workload, target="http://127.0.0.1:8181", mode="closed", tool="wrk",
        connections=64, threads=1, duration_s=30, requests=int(rps * 30), throughput_rps=rps,
        latency=LatencySummary(100, 1.0, 1.0, 2.0, 5.0, 9.0, 12.0), status_codes={"200": int(rps * 30)},
        series=[SeriesPoint(0, rps, 0, 1.0, 2.0, 5.0)],
    )


def test_record_round_trips_with_nan(tmp_path: Path) -> None:
    empty = load("home", 0)
    empty.latency = LatencySummary(0, math.nan, math.nan, math.nan, math.nan, math.nan, math.nan)
    record = BenchRecord(name="x", kind="load", command="roost bench run", conditions=conditions(),
                         results=[empty])
    path = tmp_path / "x.json"
    record.save(path)
    assert b"NaN" not in path.read_bytes()
    back = BenchRecord.load(path)
    assert math.isnan(back.results[0].latency.p99_ms)
    assert back.results[0].series == empty.series
    assert back.conditions == record.conditions


def test_report_has_a_table_per_hot_path_with_ratio_command_date_commit(tmp_path: Path) -> None:
    results = tmp_path / "results"
    graph = {"accounts": 10_000, "avg_follows": 100, "celebrities": 3}
    BenchRecord(name="home", kind="compare", command="roost bench run --workload home --compare ceiling",
                conditions=conditions(), graph=graph, results=[load("home", 2000), load("ceiling", 8000)],
                ratio=0.25, ratio_median=0.26).save(results / "home.json")
    BenchRecord(name="post", kind="load", command="roost bench run --workload post", conditions=conditions(),
                graph=graph, results=[load("post", 900)]).save(results / "post.json")
    BenchRecord(name="raw", kind="load", command="roost bench run --workload ceiling",
                conditions=conditions(shape="raw-asgi"), results=[load("ceiling", 30_000)]).save(results / "raw.json")
    BenchRecord(name="fan", kind="fanout", command="roost bench run --workload fanout", conditions=conditions(),
                graph=graph, fanout=[FanoutSummary("normal", 20, 19, 1, 10, 12.0, 40.0, 41.0, 10, 20,
                                                   missing_deliveries=2)]).save(results / "fan.json")
    out = tmp_path / "docs" / "PERFORMANCE.md"
    assert write_report(results, out) == 4
    text = out.read_text()
    assert text.startswith(PREAMBLE)
    assert "## Home timeline reads" in text and "## Status creation" in text
    assert "0.250 (of 8,000)" in text
    assert "`roost bench run --workload home --compare ceiling`" in text
    assert "2026-11-28" in text and "`0123456789`" in text
    assert "## Fanout lag" in text and "1 (2 deliveries)" in text
    assert "30,000" in text.split("## The load generator's own ceiling")[1]
    assert "../results/home.json" in text
    assert "AMD EPYC, 2 cores" in text
