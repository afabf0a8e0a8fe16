"""``roost cluster ...`` as a user types it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from roost.cli import main

from .conftest import Cluster


def test_status_json_lists_every_node(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "status", "--json", "--state-dir", str(cluster.state_dir)]) == 0
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)}
    assert {n["role"] for n in nodes.values()} == {"primary", "replica", "master"}
    assert all(n["health"] == "up" for n in nodes.values())
    replica = cluster.topology.replicas(0)[0]
    assert nodes[replica.name]["address"] == f"127.0.0.1:{replica.port}"
    assert isinstance(nodes[replica.name]["lsn"], str)


def test_up_again_prints_the_table_and_starts_nothing_new(
        cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    before = cluster.state.read_pids()
    assert main(["cluster", "up", "--processes", "0", "--state-dir", str(cluster.state_dir)]) == 0
    out = capsys.readouterr().out
    assert "cluster.toml" in out and "primary" in out and "replica" in out
    assert cluster.state.read_pids() == before


def test_status_without_a_cluster_is_a_clear_error(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "status", "--state-dir", str(tmp_path)]) == 1
    assert "no cluster config" in capsys.readouterr().err


def test_down_without_a_cluster_stops_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cluster", "down", "--state-dir", str(tmp_path)]) == 0
    assert "nothing" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--shards", "0"], ["--replicas", "-1"], ["--shards", "two"]])
def test_up_refuses_bad_counts(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["cluster", "up", *argv])
    assert exit_.value.code == 2
    assert "error: argument" in capsys.readouterr().err
