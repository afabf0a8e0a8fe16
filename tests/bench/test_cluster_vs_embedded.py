"""bench/cluster_vs_embedded.py: the plan of a cluster-against-embedded run (dry run: no
engines, no servers), and the configs it derives from a cluster.toml."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from .conftest import load_bench_script


@pytest.fixture
def script(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    return load_bench_script(monkeypatch, "cluster_vs_embedded.py")


def value_after(argv: tuple[str, ...], flag: str) -> str:
    return argv[argv.index(flag) + 1]


def test_plan_seeds_one_graph_twice_then_compares_in_the_same_runs(script: ModuleType, tmp_path: Path) -> None:
    options, dry = script.parse_args(["--work", str(tmp_path), "--accounts", "500", "--statuses", "900",
                                      "--workloads", "post,home", "--dry-run"])
    assert dry
    steps = script.plan(options)
    seeds = [s for s in steps if s.argv[3:5] == ("bench", "seed")]
    assert len(seeds) == 2
    # The same graph: every parameter but where it goes and the state file is equal.
    for flag in ("--accounts", "--avg-follows", "--statuses", "--seed"):
        assert value_after(seeds[0].argv, flag) == value_after(seeds[1].argv, flag)
    assert value_after(seeds[1].argv, "--config") == str(options.cluster_env)
    up = next(s for s in steps if s.argv[3:5] == ("cluster", "up"))
    assert steps.index(up) < steps.index(seeds[1])
    assert value_after(up.argv, "--replicas") == "1"
    assert value_after(up.argv, "--processes") == "0"
    migrate = next(s for s in steps if s.argv[3:4] == ("migrate",))
    assert steps.index(up) < steps.index(migrate) < steps.index(seeds[1])

    servers = [s for s in steps if s.serve]
    assert len({s.serve for s in servers}) == 3
    assert all(s.serve.startswith("http://127.0.0.1:") for s in servers)  # loopback only
    primaries = servers[2]
    assert primaries.env["ROOST_CLUSTER_CONFIG"] == str(options.primaries_config)
    assert value_after(primaries.argv, "--target") == "gateway"
    assert value_after(primaries.argv, "--data-dir") == value_after(servers[1].argv, "--data-dir")

    runs = [s for s in steps if s.argv[3:5] == ("bench", "run")]
    measured = [r for r in runs if "--results-dir" in r.argv]
    # Warm-ups first and unrecorded; reads before posts (posts change the graph).
    assert runs[:2] == [r for r in runs if "--results-dir" not in r.argv]
    assert [value_after(r.argv, "--workload") for r in measured] == ["home", "home", "post"]
    replicas, *shapes = measured
    assert "--compare-state" not in replicas.argv  # 1 and 0 replicas: the same data and tokens
    assert value_after(replicas.argv, "--compare-target") == primaries.serve
    for run in shapes:
        assert value_after(run.argv, "--state") == str(options.state("cluster"))
        assert value_after(run.argv, "--compare-state") == str(options.state("embedded"))
        assert value_after(run.argv, "--compare-target") == servers[0].serve


def test_dry_run_starts_nothing(script: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "work"
    assert script.main(["--work", str(work), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "cluster up" in out and "--compare-state" in out
    assert not work.exists()


def test_unknown_workloads_are_refused(script: ModuleType, tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        script.parse_args(["--work", str(tmp_path), "--workloads", "home,nope"])


def test_the_zero_replica_config_keeps_the_primaries(script: ModuleType, tmp_path: Path) -> None:
    from roost.cluster import topology

    folder = tmp_path / "cluster"
    folder.mkdir()
    planned = topology.plan(2, 1, iter(range(17000, 17100)))
    topology.save(planned, folder / "cluster.toml")
    options, _ = script.parse_args(["--work", str(tmp_path)])
    script.write_cluster_configs(options)
    derived = topology.load(options.primaries_config)
    assert [n.role for n in derived.nodes] == ["primary", "primary"]
    assert {n.port for n in derived.nodes} == {planned.primary(0).port, planned.primary(1).port}
    assert options.cluster_env.read_text() == f"ROOST_CLUSTER_CONFIG={options.cluster_config}\n"
