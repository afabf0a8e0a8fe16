"""The human-readable summary printed at the end of a run."""

from __future__ import annotations

import math

from roost.bench.results import BenchRecord, FanoutSummary, LoadResult


def _ms(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.2f}ms" if value < 100 else f"{value:,.0f}ms"


def format_load(result: LoadResult) -> list[str]:
    lat = result.latency
    mode = f"open loop at {result.rate:,.0f} req/s" if result.mode == "open" else "closed loop"
    lines = [
        f"[{result.label}] {result.workload} @ {result.target} ({mode}, {result.tool}, "
        f"{result.connections} connections, {result.duration_s:g}s in {result.slices} slices)",
        f"  throughput  {result.throughput_rps:,.0f} req/s  ({result.requests:,} responses)",
        f"  latency     p50 {_ms(lat.p50_ms)}  p90 {_ms(lat.p90_ms)}  p99 {_ms(lat.p99_ms)}  "
        f"p99.9 {_ms(lat.p999_ms)}  max {_ms(lat.max_ms)}",
    ]
    codes = "  ".join(f"{code}: {n:,}" for code, n in result.status_codes.items()) or "none"
    lines.append(f"  status      {codes}")
    failures = {k: v for k, v in result.socket_errors.items() if v and k != "late"}
    if failures:
        lines.append("  socket      " + "  ".join(f"{k}: {v:,}" for k, v in failures.items()))
    if result.mode == "open":
        late = result.socket_errors.get("late", 0)
        lines.append(
            f"  schedule    {result.scheduled or 0:,} due, {result.unsent:,} never sent, "
            f"{late:,} sent late (latency counts from the due time)"
        )
    per = result.loadgen_us_per_response
    if per is not None and result.duration_s:
        # A closed loop's CPU per response is flat; an open loop's is not (its
        # timers cost more at low rates), so no per-core ceiling for it.
        implied = f", so ~{1e6 / per:,.0f} responses/s per core" if result.mode == "closed" else ""
        lines.append(
            f"  generator   {result.tool} used {result.loadgen_cpu_s / result.duration_s:.0%} of one core "
            f"({per:.1f}us CPU per response{implied})"
        )
    errors = result.errors
    share = errors / max(1, result.requests + result.unsent)
    lines.append(f"  errors      {errors:,} ({share:.2%})")
    return lines


def format_fanout(summary: FanoutSummary) -> list[str]:
    lines = [
        f"[fanout {summary.author_kind}] {summary.posts} posts, "
        f"{summary.followers_per_post:.1f} sampled followers each, poll every "
        f"{summary.poll_interval_ms:g}ms, timeout {summary.timeout_s:g}s",
        f"  lag         p50 {_ms(summary.p50_ms)}  p99 {_ms(summary.p99_ms)}  max {_ms(summary.max_ms)}",
        f"  delivered   {summary.delivered}/{summary.posts} posts to every sampled follower",
    ]
    if summary.immediate:
        lines.append(
            f"  immediate   {summary.immediate} posts were already everywhere at the first round of "
            f"polls (took {_ms(summary.first_poll_p50_ms)}): lag below the resolution"
        )
    if summary.missing:
        lines.append(
            f"  MISSING     {summary.missing} posts never reached every follower "
            f"({summary.missing_deliveries} deliveries missing)"
        )
    if summary.post_errors:
        lines.append(f"  post errors {summary.post_errors}")
    return lines


def format_record(record: BenchRecord) -> str:
    lines = [f"roost bench: {record.name}  ({record.conditions.date}, commit {record.conditions.commit[:12]}"
             f"{'+dirty' if record.conditions.commit_dirty else ''}, {record.conditions.cores} cores)"]
    for result in record.results:
        lines.extend(format_load(result))
    if record.ratio is not None and len(record.results) == 2:
        a, b = record.results
        median = f", median of slice pairs {record.ratio_median:.3f}" if record.ratio_median else ""
        lines.append(f"ratio {a.label}/{b.label}: {record.ratio:.3f}{median}")
    for summary in record.fanout:
        lines.extend(format_fanout(summary))
    return "\n".join(lines)
