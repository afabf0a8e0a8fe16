"""wrk slices: the Lua summary parses, and real wrk runs against a tiny server."""

from __future__ import annotations

import asyncio
import io
import shutil
from pathlib import Path

import pytest

from roost.bench.outcome import SliceOutcome
from roost.bench.runner import LoadPlan, Side, run_load
from roost.bench.workloads import WORKLOADS, WorkloadData
from roost.bench.wrk import WrkJob, lua_dir, parse_summary, run_wrk

from .conftest import TinyServer

needs_wrk = pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")


def test_parse_summary_with_exact_histogram() -> None:
    data = {
        "requests": 30, "duration_us": 2_000_000, "bytes": 900,
        "socket_errors": {"connect": 0, "read": 1, "write": 0, "timeout": 0},
        "non_2xx_3xx": 10, "codes": {"200": 20, "503": 10},
        "bucket_ms": 1000, "t0_ms": 1_000_000,
        "buckets": [[0, 12], [1, 18]], "bucket_errors": [[1, 10]],
        "latency_count": 30, "latency_hist": [[100, 10], [200, 10], [5000, 10]],
    }
    outcome = parse_summary(data, started=1000.0, label="x")
    assert outcome.requests == 30
    assert outcome.duration_s == 2.0
    assert outcome.codes == {200: 20, 503: 10}
    assert outcome.error_responses == 10
    assert [(b.start, b.requests, b.errors) for b in outcome.buckets] == [(1000.0, 12, 0), (1001.0, 18, 10)]
    assert outcome.hist.percentile(50) == 200
    assert outcome.hist.percentile(99) == 5000


def test_parse_summary_with_quantile_grid() -> None:
    data = {
        "requests": 1000, "duration_us": 1_000_000, "bytes": 0, "codes": {"200": 1000},
        "bucket_ms": 1000, "buckets": [], "latency_count": 1000,
        "latency_quantiles": [[50, 800], [90, 1500], [99, 9000], [100, 20000]],
    }
    outcome = parse_summary(data, started=0.0, label="x")
    assert outcome.hist.percentile(90) == 1500
    assert outcome.hist.count == 1000


def wrk_slice(server: TinyServer, workload: str, data: WorkloadData | None, tmp: Path,
              **extra_env: str) -> SliceOutcome:
    async def main() -> SliceOutcome:
        async with server:
            env = {**(data.write_files(tmp) if data else {}), **extra_env}
            job = WrkJob(
                url=server.url + WORKLOADS[workload].path, script=lua_dir() / WORKLOADS[workload].script,
                connections=4, threads=1, duration_s=1, env=env,
            )
            return await run_wrk(job)

    return asyncio.run(main())


@needs_wrk
def test_ceiling_script_counts_codes_and_buckets(tiny_server: type[TinyServer], tmp_path: Path) -> None:
    server = tiny_server()
    outcome = wrk_slice(server, "ceiling", None, tmp_path)
    assert outcome.requests > 0
    assert outcome.codes == {200: outcome.requests}
    assert sum(b.requests for b in outcome.buckets) == outcome.requests
    assert outcome.hist.count > 0
    assert set(server.paths) == {"/health"}


@needs_wrk
def test_wide_distributions_come_as_a_percentile_grid(tiny_server: type[TinyServer], tmp_path: Path) -> None:
    exact = wrk_slice(tiny_server(), "ceiling", None, tmp_path)
    grid = wrk_slice(tiny_server(), "ceiling", None, tmp_path, ROOST_BENCH_LATENCY_GRID="1")
    assert grid.hist.count == grid.requests  # rebuilt with the response count as its total
    assert exact.hist.count > 0
    assert grid.hist.percentile(50) <= grid.hist.percentile(99) <= grid.hist.max()


@needs_wrk
def test_mixed_script_uses_tokens_ids_and_the_mix(tiny_server: type[TinyServer], tmp_path: Path) -> None:
    server = tiny_server()
    data = WorkloadData(readers=["tok-a", "tok-b"], targets=["11", "12"], statuses=["901", "902"],
                        reader_ids=["12", "11"])
    outcome = wrk_slice(server, "mixed", data, tmp_path)
    assert outcome.requests > 100
    paths = server.paths
    assert any(p.startswith("/api/v1/timelines/home") for p in paths)
    assert any(p.startswith("/api/v1/statuses/90") for p in paths)
    assert any(p.startswith("/api/v1/accounts/1") for p in paths)
    home = sum(p.startswith("/api/v1/timelines/home") for p in paths) / len(paths)
    assert 0.3 < home < 0.5  # 40% of the mix
    follows = {(auth, path) for auth, path in zip(server.auths, paths, strict=True) if path.endswith("/follow")}
    assert follows, "2% of the mix are follows"
    # tok-a is account 12 and tok-b is account 11: nobody follows themselves.
    assert ("Bearer tok-a", "/api/v1/accounts/12/follow") not in follows
    assert ("Bearer tok-b", "/api/v1/accounts/11/follow") not in follows


def test_open_loop_mixed_never_follows_oneself() -> None:
    from roost.bench.workloads import request_source

    data = WorkloadData(readers=["tok-a"], targets=["11", "12"], statuses=["901"], reader_ids=["11"])
    source = request_source(WORKLOADS["mixed"], "http://127.0.0.1:1", data)
    requests = [source(i) for i in range(3000)]
    follows = [r for r in requests if b"/follow " in r]
    assert follows
    assert all(b"/api/v1/accounts/11/follow" not in r for r in follows)
    assert all(b"Authorization: Bearer tok-a" in r for r in requests)


@needs_wrk
def test_each_side_can_carry_its_own_seeded_accounts(tiny_server: type[TinyServer]) -> None:
    # Two deployments seeded with the same graph hold it under their own tokens.
    async def main() -> None:
        async with tiny_server() as first, tiny_server() as second:
            mine = WorkloadData(readers=["tok-first"], targets=["1"], statuses=["9"], reader_ids=["1"])
            theirs = WorkloadData(readers=["tok-second"], targets=["2"], statuses=["8"], reader_ids=["2"])
            sides = (Side("a", first.url, WORKLOADS["home"]),
                     Side("b", second.url, WORKLOADS["home"], theirs))
            plan = LoadPlan(sides=sides, connections=2, duration_s=2, slice_s=1, warmup_s=0)
            outcome = await run_load(plan, mine, log=io.StringIO())
            assert [r.requests > 0 for r in outcome.results] == [True, True]
            assert set(first.auths) == {"Bearer tok-first"}
            assert set(second.auths) == {"Bearer tok-second"}
            assert len(outcome.ratio_pairs) == 2

    asyncio.run(main())
