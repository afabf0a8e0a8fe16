"""What `roost bench seed|run|report` do, given parsed arguments."""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as dt
import itertools
import shlex
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from roost.bench.conditions import collect_conditions
from roost.bench.fanout import FanoutConfig, measure_fanout, probes_from_state, summarize_fanout
from roost.bench.graph import GraphParams, GraphPlan
from roost.bench.plot import plot_record
from roost.bench.report import write_report
from roost.bench.results import BenchRecord
from roost.bench.runner import LoadOutcome, LoadPlan, Side, run_load
from roost.bench.seed_api import SeedError, SeedOptions, seed_via_api
from roost.bench.state import BenchState
from roost.bench.summary import format_record
from roost.bench.workloads import WORKLOADS, WorkloadData
from roost.bench.wrk import WrkError, wrk_version


class UsageError(Exception):
    pass


def command_line(argv: list[str] | None = None) -> str:
    """The command as a user would type it again, whichever entry point ran."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["bench"]:
        args = args[1:]
    return "roost bench " + shlex.join(args)


# -- seed -------------------------------------------------------------------


def cmd_seed(args: argparse.Namespace) -> int:
    params = GraphParams(
        accounts=args.accounts,
        avg_follows=args.avg_follows,
        statuses=args.statuses,
        seed=args.seed,
        celebrities=args.celebrities or 0,
        zipf_s=args.zipf,
        mention_rate=args.mention_rate,
        favourites_per_status=args.favourites_per_status,
        reblogs_per_status=args.reblogs_per_status,
        username_prefix=args.prefix,
    )
    options = SeedOptions(
        concurrency=args.concurrency,
        probe_authors=args.probe_authors,
        probe_followers=args.probe_followers,
        celebrity_threshold=None if args.celebrities is not None else args.celebrity_threshold,
        warm_timelines=not args.cold_timelines,
    )
    plan = GraphPlan(params)
    where = args.target or args.data_dir
    print(f"seeding {params.accounts:,} accounts (~{params.avg_follows:g} follows each, "
          f"{params.statuses:,} statuses, seed {params.seed}) into {where}", file=sys.stderr)
    try:
        if args.target:
            state = asyncio.run(seed_via_api(args.target.rstrip("/"), plan, options))
        else:
            from roost.bench.seed_bulk import seed_bulk

            state = asyncio.run(seed_bulk(Path(args.data_dir), plan, options, config=args.config))
    except (SeedError, httpx.HTTPError, OSError) as exc:
        print(f"roost bench seed: {exc}", file=sys.stderr)
        return 1
    state.save(Path(args.out))
    graph = state.seed_stats.get("graph", {})
    print(f"wrote {args.out}: {len(state.accounts):,} accounts, {len(state.celebrities)} celebrities, "
          f"{graph.get('edges', 0):,} follows (top 1% hold {graph.get('top1pct_share', 0):.0%}), "
          f"{len(state.fanout_probes)} fanout-probe authors")
    return 0


# -- run --------------------------------------------------------------------


def _graph_info(state: BenchState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {
        "accounts": len(state.accounts),
        "avg_follows": state.params.avg_follows,
        "celebrities": len(state.celebrities),
        "statuses": state.params.statuses,
        "seed": state.params.seed,
        "seed_mode": state.mode,
        **{k: v for k, v in state.seed_stats.get("graph", {}).items()},
    }


def _sides(args: argparse.Namespace, target: str) -> tuple[Side, ...]:
    first = WORKLOADS[args.workload]
    if args.compare_state and not args.compare_target:
        raise UsageError("--compare-state needs --compare-target (the server it was seeded into)")
    if not (args.compare or args.compare_target):
        return (Side(first.name, target, first),)
    second = WORKLOADS[args.compare or args.workload]
    other = (args.compare_target or target).rstrip("/")
    if first.name != second.name:
        labels = (first.name, second.name)
    elif other != target:
        labels = (f"{first.name}@{urlsplit(target).netloc}", f"{second.name}@{urlsplit(other).netloc}")
    else:
        raise UsageError("--compare needs another workload or another --compare-target")
    # The other server may hold the same graph under its own ids and tokens.
    other_data = (WorkloadData.from_state(BenchState.load(Path(args.compare_state)))
                  if args.compare_state else None)
    return Side(labels[0], target, first), Side(labels[1], other, second, other_data)


def _default_name(args: argparse.Namespace, state: BenchState | None) -> str:
    parts = [args.workload]
    if args.compare:
        parts.append(f"vs-{args.compare}")
    if args.compare_target:
        parts.append("vs-" + urlsplit(args.compare_target).netloc.replace(":", "-"))
    if args.background:
        parts.append(f"under-{args.background}")
    if state is not None:
        parts.append(f"{len(state.accounts)}acc")
    if args.workload != "fanout" or args.background:
        parts.append(f"open{args.rate:g}" if args.rate else f"c{args.connections}")
    return "-".join(parts)


def _outputs(args: argparse.Namespace, name: str) -> tuple[Path | None, Path | None]:
    json_path = Path(args.json) if args.json else None
    plot_path = Path(args.plot) if args.plot else None
    if args.results_dir:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
        base = Path(args.results_dir) / f"{name}-{stamp}"
        json_path = json_path or base.with_suffix(".json")
        plot_path = plot_path or base.with_suffix(".png")
    return json_path, plot_path


async def _run(args: argparse.Namespace) -> BenchRecord:
    state = BenchState.load(Path(args.state)) if args.state else None
    target = (args.target or (state.base_url if state else None) or "").rstrip("/")
    if not target:
        raise UsageError("--target is required (the state has no base URL)")
    name = args.name or _default_name(args, state)
    if args.workload == "fanout":
        return await _run_fanout(args, state, target, name)
    sides = _sides(args, target)
    if any(side.workload.needs_state for side in sides) and state is None:
        raise UsageError(f"the {args.workload} workload needs --state STATE.json from `roost bench seed`")
    data = WorkloadData.from_state(state) if state is not None else None
    plan = LoadPlan(
        sides=sides,
        connections=args.connections,
        duration_s=args.duration,
        threads=args.threads,
        slice_s=args.slice,
        warmup_s=args.warmup,
        rate=args.rate,
        timeout_s=args.timeout,
        zipf_s=args.zipf,
    )
    tool = wrk_version() if args.rate is None else "roost asyncio open-loop driver"
    conditions = await collect_conditions([s.target for s in sides], tool)
    outcome = await run_load(plan, data)
    return BenchRecord(
        name=name,
        kind="compare" if len(sides) == 2 else "load",
        command=command_line(),
        conditions=conditions,
        graph=_graph_info(state),
        results=outcome.results,
        ratio=outcome.ratio,
        ratio_median=outcome.ratio_median,
        ratio_pairs=[round(r, 4) for r in outcome.ratio_pairs],
    )


async def _run_fanout(args: argparse.Namespace, state: BenchState | None, target: str,
                      name: str) -> BenchRecord:
    if state is None:
        raise UsageError("the fanout workload needs --state STATE.json from `roost bench seed`")
    config = FanoutConfig(
        posts_per_kind=args.posts,
        followers_per_post=args.followers,
        timeout_s=args.fanout_timeout,
        poll_interval_s=args.poll_interval / 1000.0,
        concurrency=args.fanout_concurrency,
    )
    probes = probes_from_state(state, config, seed=state.params.seed)
    if not probes:
        raise UsageError("the state has no fanout probes (seed again with this version)")
    if args.background:
        # Interleave the kinds and spread the posts over the loaded time.
        probes = [p for pair in itertools.zip_longest(
            [p for p in probes if not p.celebrity], [p for p in probes if p.celebrity]) for p in pair if p]
        ramp = min(2.0, args.duration / 4)
        spare = args.duration - ramp - config.timeout_s / 4
        config = dataclasses.replace(config, spacing_s=max(0.0, spare / len(probes)))
    conditions = await collect_conditions([target], "roost fanout prober (httpx)")
    background: asyncio.Task[LoadOutcome] | None = None
    if args.background:
        # Lag under load is the figure that matters: an idle server fans out
        # before the first poll comes back.
        side = Side(args.background, target, WORKLOADS[args.background])
        plan = LoadPlan(sides=(side,), connections=args.connections, duration_s=args.duration,
                        threads=args.threads, slice_s=args.duration, warmup_s=0, rate=args.rate,
                        timeout_s=args.timeout, zipf_s=args.zipf)
        background = asyncio.create_task(run_load(plan, WorkloadData.from_state(state)))
        await asyncio.sleep(ramp)
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    try:
        async with httpx.AsyncClient(base_url=target, timeout=30.0, limits=limits) as client:
            observations = await measure_fanout(client, probes, config)
        load = await background if background is not None else None
    finally:
        if background is not None and not background.done():
            background.cancel()
    return BenchRecord(
        name=name,
        kind="fanout",
        command=command_line(),
        conditions=conditions,
        graph=_graph_info(state),
        results=load.results if load is not None else [],
        fanout=summarize_fanout(observations, config),
    )


def cmd_run(args: argparse.Namespace) -> int:
    try:
        record = asyncio.run(_run(args))
    except UsageError as exc:
        print(f"roost bench run: {exc}", file=sys.stderr)
        return 2
    except (WrkError, OSError) as exc:
        print(f"roost bench run: {exc}", file=sys.stderr)
        return 1
    print(format_record(record))
    json_path, plot_path = _outputs(args, record.name)
    if json_path is not None:
        record.save(json_path)
        print(f"wrote {json_path}")
    if plot_path is not None:
        plot_record(record, plot_path)
        print(f"wrote {plot_path}")
    answered = sum(r.requests for r in record.results) + sum(s.posts for s in record.fanout)
    return 0 if answered else 1


# -- report -----------------------------------------------------------------


def cmd_report(args: argparse.Namespace) -> int:
    count = write_report(Path(args.results), Path(args.out))
    print(f"wrote {args.out} from {count} result files in {args.results}")
    return 0
