"""The `roost bench` command line: `seed`, `run` and `report`.

``roost.cli`` calls :func:`add_bench_commands` to mount these under
`roost bench`; ``python -m roost.bench`` mounts them alone.
"""

from __future__ import annotations

import argparse

from roost.bench import commands
from roost.bench.workloads import WORKLOADS


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {raw}")
    return value


def _non_negative_float(raw: str) -> float:
    value = float(raw)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more: {raw}")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {raw}")
    return value


def add_bench_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    bench = subparsers.add_parser(
        "bench", help="seed a social graph, load a server, report the figures",
        description="Benchmark harness: seed a realistic graph, run workloads, write docs/PERFORMANCE.md.",
    )
    sub = bench.add_subparsers(dest="bench_command", required=True, metavar="{seed,run,report}")
    _add_seed(sub)
    _add_run(sub)
    _add_report(sub)


def _add_seed(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("seed", help="build a deterministic power-law social graph",
                       description="Seed accounts, follows (Zipf-like in-degree), statuses with "
                       "mentions, favourites and reblogs; write STATE.json for `run`.")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--target", metavar="URL", help="seed a running server through its public API")
    where.add_argument("--data-dir", metavar="DIR",
                       help="seed in bulk into embedded storage through the service layer (server stopped)")
    p.add_argument("--config", metavar="FILE", help="roost config for --data-dir (optional)")
    p.add_argument("--accounts", type=_positive_int, required=True, metavar="N")
    p.add_argument("--avg-follows", type=float, required=True, metavar="F")
    p.add_argument("--statuses", type=int, required=True, metavar="S", help="statuses in total")
    p.add_argument("--celebrities", type=int, default=None, metavar="K",
                   help="mark the K most popular accounts as celebrities "
                   "(default: those with at least --celebrity-threshold followers)")
    p.add_argument("--celebrity-threshold", type=int, default=10_000, metavar="T",
                   help="the server's celebrity follower threshold (default: %(default)s)")
    p.add_argument("--seed", type=int, default=1, help="random seed; same seed, same graph")
    p.add_argument("--out", required=True, metavar="STATE.json")
    p.add_argument("--concurrency", type=_positive_int, default=32, help="requests in flight (API mode)")
    p.add_argument("--prefix", default="bench", help="username prefix (default: %(default)s)")
    p.add_argument("--zipf", type=_positive_float, default=1.0, help="popularity exponent s")
    p.add_argument("--mention-rate", type=float, default=0.2)
    p.add_argument("--favourites-per-status", type=float, default=1.0)
    p.add_argument("--reblogs-per-status", type=float, default=0.1)
    p.add_argument("--probe-authors", type=int, default=20, help="ordinary authors kept for fanout probes")
    p.add_argument("--probe-followers", type=int, default=10, help="followers sampled per probe author")
    p.add_argument("--cold-timelines", action="store_true",
                   help="leave home timelines unbuilt: each reader's first read rebuilds its own "
                        "(default: build them all at the end, as a server with active users has them)")
    p.set_defaults(func=commands.cmd_seed)


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    names = [*sorted(WORKLOADS), "fanout"]
    p = sub.add_parser("run", help="load a server with a workload and report the figures",
                       description="Closed loop with wrk, or open loop at --rate with the asyncio driver.")
    p.add_argument("--target", metavar="URL", help="server base URL (default: the state's)")
    p.add_argument("--state", metavar="STATE.json", help="from `roost bench seed`")
    p.add_argument("--workload", choices=names, required=True)
    p.add_argument("--connections", type=_positive_int, default=64)
    p.add_argument("--duration", type=_positive_float, default=30.0, metavar="SECONDS",
                   help="measured seconds per side (default: %(default)s)")
    p.add_argument("--rate", type=_positive_float, default=None, metavar="R",
                   help="open loop: fixed arrival rate in requests/s")
    p.add_argument("--threads", type=_positive_int, default=1, help="wrk threads (default: %(default)s)")
    p.add_argument("--slice", type=_positive_float, default=5.0, metavar="SECONDS",
                   help="slice length; sides alternate per slice (default: %(default)s)")
    p.add_argument("--warmup", type=float, default=2.0, metavar="SECONDS",
                   help="unmeasured warm-up per side (default: %(default)s)")
    p.add_argument("--timeout", type=_positive_float, default=5.0, metavar="SECONDS",
                   help="request timeout (default: %(default)s)")
    p.add_argument("--zipf", type=_non_negative_float, default=1.0,
                   help="Zipf exponent for choosing users (0: uniform, every reader alike)")
    p.add_argument("--compare", choices=sorted(WORKLOADS), metavar="WORKLOAD",
                   help="alternate with this workload and report the throughput ratio")
    p.add_argument("--compare-target", metavar="URL", help="alternate with this server instead")
    p.add_argument("--compare-state", metavar="STATE.json",
                   help="the --compare-target's own state, when it was seeded apart "
                        "(e.g. the same graph in another shape)")
    p.add_argument("--name", help="result name (default: derived from the arguments)")
    p.add_argument("--json", metavar="OUT.json", help="write every figure and the conditions here")
    p.add_argument("--plot", metavar="OUT.png", help="plot throughput and latency over time")
    p.add_argument("--results-dir", metavar="DIR",
                   help="write NAME-DATE.json and .png here (e.g. bench/results)")
    fan = p.add_argument_group("fanout workload")
    fan.add_argument("--posts", type=_positive_int, default=20, help="posts per author kind")
    fan.add_argument("--followers", type=_positive_int, default=10, help="followers polled per post")
    fan.add_argument("--fanout-timeout", type=_positive_float, default=10.0, metavar="SECONDS")
    fan.add_argument("--poll-interval", type=_positive_float, default=20.0, metavar="MS")
    fan.add_argument("--background", choices=sorted(WORKLOADS), metavar="WORKLOAD",
                     help="run this workload (with --connections/--rate/--duration) while probing")
    fan.add_argument("--fanout-concurrency", type=_positive_int, default=1,
                     help="posts observed at once; more polls at once coarsen the resolution")
    p.set_defaults(func=commands.cmd_run)


def _add_report(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("report", help="regenerate docs/PERFORMANCE.md from result files")
    p.add_argument("--results", default="bench/results", metavar="DIR")
    p.add_argument("--out", default="docs/PERFORMANCE.md", metavar="FILE")
    p.set_defaults(func=commands.cmd_report)


def build_parser() -> argparse.ArgumentParser:
    """A parser with only `bench`, for ``python -m roost.bench``."""
    parser = argparse.ArgumentParser(prog="roost")
    add_bench_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.func(args)
    return result
