"""The cluster shape against the embedded shape on the same graph, in the same runs (issue #9).

    python bench/cluster_vs_embedded.py --work /tmp/cve [--accounts 10000 --avg-follows 100
        --statuses 50000 --seed 1] [--shards 2] [--workloads home,mixed,post]
        [--connections 32 --duration 30 --warm-up 60] [--results-dir bench/results] [--dry-run]

What it does, in order (``--dry-run`` prints these steps and starts nothing):

1. seeds the graph in bulk into an embedded data directory (``roost bench seed --data-dir``);
2. starts the engines with ``roost cluster up --shards N --replicas 1 --processes 0`` (fsync
   off: a throw-away cluster), migrates them (``roost migrate``) and seeds the *same* graph
   (same parameters and seed) in bulk into them: the bulk seeder runs roost's own services over whatever storage the settings name,
   here ``ROOST_CLUSTER_CONFIG`` (the PostgreSQL shards and Redis of cluster.toml);
3. serves three roost processes on loopback: the embedded one, one on the cluster (every
   component), and one on the cluster with its replicas left out of its cluster.toml (the API
   only; its reads go to the primaries):
   read throughput with 1 and 0 replicas is then measured on the same data and tokens;
4. warms each pair up, then runs each workload with ``roost bench run --compare-target``
   (A B B A slices: the ratio holds while the machine's speed drifts) and the cluster's own
   seeded accounts on its side (``--compare-state``): the same graph has other ids and
   tokens there. Reads (home) come first and posts last, since posts change the graph;
5. stops the servers and the engines by PID (``roost cluster down``).

Every run writes its JSON into --results-dir (default bench/results), which
``roost bench report`` turns into docs/PERFORMANCE.md. Loopback only; every run stops
by itself after its duration.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from roost.bench.seed_bulk import read_env_file
from roost.cluster import topology as cluster_topology

# Spare loopback ports for the three servers.
EMBEDDED_PORT, CLUSTER_PORT, PRIMARIES_PORT = 18611, 18612, 18613
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Options:
    work: Path
    accounts: int = 10_000
    avg_follows: float = 100.0
    statuses: int = 50_000
    seed: int = 1
    shards: int = 2
    workloads: tuple[str, ...] = ("home", "mixed", "post")
    connections: int = 32
    duration_s: int = 30
    warm_up_s: int = 60
    results_dir: Path = Path("bench/results")

    @property
    def embedded_dir(self) -> Path:
        return self.work / "embedded"

    @property
    def cluster_dir(self) -> Path:
        return self.work / "cluster"

    @property
    def cluster_config(self) -> Path:
        return self.cluster_dir / "cluster.toml"

    @property
    def primaries_config(self) -> Path:
        # Beside cluster.toml: its secret paths are relative to the file's folder.
        return self.cluster_dir / "cluster-primaries.toml"

    @property
    def cluster_env(self) -> Path:
        return self.work / "cluster.env"

    def state(self, shape: str) -> Path:
        return self.work / f"state-{shape}.json"

    def url(self, port: int) -> str:
        return f"http://127.0.0.1:{port}"


@dataclass(frozen=True)
class Step:
    """One command. ``serve`` steps start a server left running until the end."""

    what: str
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    serve: str = ""  # the URL a server step answers /health on
    before: str = ""  # a preparation done in Python first (see run_step)


def roost(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "roost", *args)


def seed_args(options: Options, shape: str, data_dir: Path) -> tuple[str, ...]:
    return roost("bench", "seed", "--data-dir", str(data_dir), "--accounts", str(options.accounts),
                 "--avg-follows", f"{options.avg_follows:g}", "--statuses", str(options.statuses),
                 "--seed", str(options.seed), "--out", str(options.state(shape)))


def bench_run(options: Options, workload: str, target: int, state: str, other: int,
              other_state: str | None, name: str, duration_s: int, warmup_s: int,
              record: bool = True) -> tuple[str, ...]:
    argv = ["bench", "run", "--target", options.url(target), "--state", str(options.state(state)),
            "--workload", workload, "--connections", str(options.connections),
            "--duration", str(duration_s), "--warmup", str(warmup_s),
            "--compare-target", options.url(other), "--name", name]
    if other_state is not None:
        argv += ["--compare-state", str(options.state(other_state))]
    if record:
        argv += ["--results-dir", str(options.results_dir)]
    return roost(*argv)


def plan(options: Options) -> list[Step]:
    size = f"{options.accounts}acc"
    cluster_env = {"ROOST_ENV_FILE": str(options.cluster_env)}
    cluster_roost = options.work / "cluster-roost"  # roost's own files on the cluster shape
    steps = [
        Step("seed the embedded shape", seed_args(options, "embedded", options.embedded_dir)),
        Step("start the engines (no roost processes: this script serves its own)",
             roost("cluster", "up", "--shards", str(options.shards), "--replicas", "1", "--no-fsync",
                   "--processes", "0", "--state-dir", str(options.cluster_dir))),
        Step("migrate the cluster", roost("migrate", "--data-dir", str(cluster_roost)), env=cluster_env,
             before="cluster-configs"),
        Step("seed the same graph into the cluster",
             (*seed_args(options, "cluster", cluster_roost), "--config", str(options.cluster_env))),
        Step("serve the embedded shape", roost("up", "--port", str(EMBEDDED_PORT), "--data-dir",
                                               str(options.embedded_dir), "--log-level", "warning"),
             serve=options.url(EMBEDDED_PORT)),
        Step("serve the cluster shape (1 replica per shard; the log consumers run here)",
             roost("serve", "--port", str(CLUSTER_PORT), "--data-dir", str(cluster_roost),
                   "--log-level", "warning"), env=cluster_env, serve=options.url(CLUSTER_PORT)),
        # The API only: one process owns the log's consumer groups (roost_processes.py).
        Step("serve the cluster shape reading from the primaries only (0 replicas)",
             roost("serve", "--target", "gateway", "--port", str(PRIMARIES_PORT), "--data-dir",
                   str(cluster_roost), "--log-level", "warning"),
             env={**cluster_env, "ROOST_CLUSTER_CONFIG": str(options.primaries_config)},
             serve=options.url(PRIMARIES_PORT)),
        Step("warm up: cluster and embedded",
             bench_run(options, "home", CLUSTER_PORT, "cluster", EMBEDDED_PORT, "embedded", "warm-up",
                       options.warm_up_s, 0, record=False)),
        Step("warm up: 1 and 0 replicas",
             bench_run(options, "home", CLUSTER_PORT, "cluster", PRIMARIES_PORT, None, "warm-up",
                       options.warm_up_s, 0, record=False)),
        Step("home: 1 replica against 0",
             bench_run(options, "home", CLUSTER_PORT, "cluster", PRIMARIES_PORT, None,
                       f"home-cluster-replicas1-vs-0-{size}-c{options.connections}", options.duration_s, 5)),
    ]
    for workload in sorted(options.workloads, key=("home", "mixed", "post").index):
        steps.append(Step(f"{workload}: cluster against embedded", bench_run(
            options, workload, CLUSTER_PORT, "cluster", EMBEDDED_PORT, "embedded",
            f"{workload}-cluster-vs-embedded-{size}-c{options.connections}", options.duration_s, 5)))
    return steps


def write_cluster_configs(options: Options) -> None:
    """The settings file that points roost at the engines, and a cluster.toml without
    replicas (the same primaries, so the same data) for the 0-replica server."""
    topology = cluster_topology.load(options.cluster_config)
    primaries = tuple(node for node in topology.nodes if node.role == "primary")
    cluster_topology.save(
        cluster_topology.Topology(topology.postgres, primaries, topology.redis, topology.base),
        options.primaries_config,
    )
    # The cluster.toml names Redis too (runtime/backends opens both from it).
    options.cluster_env.write_text(f"ROOST_CLUSTER_CONFIG={options.cluster_config}\n")


def run_step(step: Step, options: Options, servers: list[subprocess.Popen[bytes]]) -> None:
    print(f"== {step.what}\n   {shlex.join(step.argv)}", flush=True)
    if step.before == "cluster-configs":
        write_cluster_configs(options)
    env = dict(os.environ)
    if "ROOST_ENV_FILE" in step.env:
        env.update(read_env_file(step.env["ROOST_ENV_FILE"]))
    env.update({k: v for k, v in step.env.items() if k != "ROOST_ENV_FILE"})
    if not step.serve:
        subprocess.run(step.argv, env=env, check=True)
        return
    log = open(options.work / f"server-{len(servers)}.log", "wb")  # noqa: SIM115 (lives with the server)
    servers.append(subprocess.Popen(step.argv, env=env, stdout=log, stderr=subprocess.STDOUT))
    wait_ready(step.serve, servers[-1])


def wait_ready(url: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server for {url} exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url + "/health", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit(f"{url} did not answer /health within {READY_TIMEOUT_S:g} s")


def stop(servers: list[subprocess.Popen[bytes]], options: Options, cluster_started: bool) -> None:
    for server in servers:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
    for server in servers:
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
    if cluster_started:
        subprocess.run(roost("cluster", "down", "--state-dir", str(options.cluster_dir)), check=False)


def parse_args(argv: list[str] | None = None) -> tuple[Options, bool]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", required=True, type=Path, help="a fresh folder for data, engines and states")
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--avg-follows", type=float, default=100.0)
    p.add_argument("--statuses", type=int, default=50_000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--workloads", default="home,mixed,post")
    p.add_argument("--connections", type=int, default=32)
    p.add_argument("--duration", type=int, default=30, help="measured seconds per side")
    p.add_argument("--warm-up", type=int, default=60, help="seconds of home reads per side first")
    p.add_argument("--results-dir", type=Path, default=Path("bench/results"))
    p.add_argument("--dry-run", action="store_true", help="print the steps, start nothing")
    args = p.parse_args(argv)
    workloads = tuple(w for w in args.workloads.split(",") if w)
    unknown = set(workloads) - {"home", "mixed", "post"}
    if unknown:
        p.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    options = Options(args.work.resolve(), args.accounts, args.avg_follows, args.statuses, args.seed,
                      args.shards, workloads, args.connections, args.duration, args.warm_up,
                      args.results_dir.resolve())
    return options, args.dry_run


def main(argv: list[str] | None = None) -> int:
    options, dry_run = parse_args(argv)
    steps = plan(options)
    if dry_run:
        for step in steps:
            env = " ".join(f"{k}={v}" for k, v in step.env.items())
            print(f"== {step.what}\n   {env + ' ' if env else ''}{shlex.join(step.argv)}")
        return 0
    options.work.mkdir(parents=True, exist_ok=True)
    servers: list[subprocess.Popen[bytes]] = []
    cluster_started = False
    try:
        for step in steps:
            cluster_started = cluster_started or step.argv[3:5] == ("cluster", "up")
            run_step(step, options, servers)
    finally:
        stop(servers, options, cluster_started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
