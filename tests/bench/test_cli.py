"""The CLI hook and the package's public surface."""

from __future__ import annotations

import argparse
from pathlib import Path

import roost.bench
from roost.bench import commands
from roost.bench.cli import add_bench_commands, main


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="roost")
    add_bench_commands(p.add_subparsers(dest="command", required=True))
    return p


def test_subcommands_set_their_handlers() -> None:
    seed = parser().parse_args(["bench", "seed", "--target", "http://127.0.0.1:8181", "--accounts", "300",
                                "--avg-follows", "20", "--statuses", "1000", "--seed", "3", "--out", "s.json"])
    assert seed.func is commands.cmd_seed
    assert (seed.accounts, seed.avg_follows, seed.seed, seed.celebrities) == (300, 20.0, 3, None)
    run = parser().parse_args(["bench", "run", "--target", "http://x", "--state", "s.json", "--workload", "home",
                               "--connections", "32", "--duration", "10", "--rate", "500", "--compare", "ceiling"])
    assert run.func is commands.cmd_run
    assert (run.workload, run.connections, run.rate, run.compare) == ("home", 32, 500.0, "ceiling")
    report = parser().parse_args(["bench", "report"])
    assert report.func is commands.cmd_report
    assert (report.results, report.out) == ("bench/results", "docs/PERFORMANCE.md")


def test_seed_needs_exactly_one_destination(capsys: object) -> None:
    p = parser()
    for extra in ([], ["--target", "http://x", "--data-dir", "d"]):
        try:
            p.parse_args(["bench", "seed", "--accounts", "3", "--avg-follows", "1", "--statuses", "0",
                          "--out", "s.json", *extra])
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError("parse should fail")


def test_workloads_that_need_a_state_say_so(tmp_path: Path) -> None:
    code = main(["bench", "run", "--target", "http://127.0.0.1:9", "--workload", "home", "--duration", "1"])
    assert code == 2


def test_command_line_is_reproducible() -> None:
    assert commands.command_line(["bench", "run", "--workload", "home"]) == "roost bench run --workload home"
    assert commands.command_line(["run", "--name", "a b"]) == "roost bench run --name 'a b'"


def test_all_is_sorted_and_complete() -> None:
    names = roost.bench.__all__
    assert names == sorted(names)
    public = {n for n in vars(roost.bench) if not n.startswith("_")}
    modules = {n for n, v in vars(roost.bench).items() if type(v).__name__ == "module"}
    assert set(names) == public - modules


def test_run_takes_uniform_readers_but_no_negative_exponent() -> None:
    base = ["bench", "run", "--target", "http://x", "--workload", "home"]
    assert parser().parse_args([*base, "--zipf", "0"]).zipf == 0.0
    try:
        parser().parse_args([*base, "--zipf", "-1"])
    except SystemExit as exc:
        assert exc.code == 2
    else:
        raise AssertionError("a negative exponent should be refused")
