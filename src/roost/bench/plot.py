"""PNG plots of a run: throughput and latency percentiles over time.

matplotlib is imported here only, with the Agg backend (no display), so the
rest of the harness starts fast and works on a headless machine.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from roost.bench.results import BenchRecord


def plot_record(record: BenchRecord, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path.parent.mkdir(parents=True, exist_ok=True)
    if record.fanout and not record.results:
        fig = _plot_fanout(plt, record)
    else:
        fig = _plot_load(plt, record)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _plot_load(plt: Any, record: BenchRecord) -> Any:
    import matplotlib.ticker as ticker

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(10, 7), sharex=True)
    for result in record.results:
        points = sorted(result.series, key=lambda p: p.t)
        if not points:
            continue
        t = _with_gaps([p.t for p in points])
        name = f"{result.label} ({result.workload})" if result.label != result.workload else result.label
        (line,) = top.plot(t, _fill([p.rps for p in points], t), marker=".", label=name)
        color = line.get_color()
        for attr, style in (("p50_ms", "-"), ("p90_ms", "--"), ("p99_ms", ":")):
            values = [getattr(p, attr) for p in points]
            if any(v is not None for v in values):
                bottom.plot(t, _fill(values, t), style, color=color, label=f"{name} {attr[:-3]}")
    top.set_ylabel("throughput (req/s)")
    top.set_ylim(bottom=0)
    top.grid(True, alpha=0.3)
    top.legend(loc="best", fontsize="small")
    bottom.set_ylabel("latency (ms)")
    bottom.set_yscale("log")
    plain = ticker.FuncFormatter(lambda v, _: f"{v:g}")
    bottom.yaxis.set_major_formatter(plain)
    bottom.yaxis.set_minor_formatter(plain)
    bottom.set_xlabel("seconds since start")
    bottom.grid(True, which="both", alpha=0.3)
    bottom.legend(loc="best", fontsize="x-small", ncol=2)
    title = f"roost bench: {record.name}"
    if record.ratio is not None:
        title += f" (ratio {record.ratio:.3f})"
    fig.suptitle(f"{title}\n{record.conditions.date}  commit {record.conditions.commit[:12]}", fontsize=10)
    fig.tight_layout()
    return fig


_NAN = float("nan")


def _with_gaps(times: list[float]) -> list[float]:
    """Times with a NaN wherever the other side of a compare run had the slot.

    Matplotlib breaks a line at NaN, so a side's slices are not joined by a
    straight line across the time the other side was running.
    """
    if len(times) < 2:
        return times
    steps = sorted(b - a for a, b in itertools.pairwise(times))
    gap = 1.5 * steps[len(steps) // 2]
    out = [times[0]]
    for before, after in itertools.pairwise(times):
        if after - before > gap:
            out.append(_NAN)
        out.append(after)
    return out


def _fill(values: list[float | None] | list[float], times: list[float]) -> list[float]:
    """``values`` spread over ``times`` from :func:`_with_gaps` (NaN in the gaps)."""
    it = iter(values)
    return [_NAN if t != t else _num(next(it)) for t in times]


def _num(value: float | None) -> float:
    return _NAN if value is None else value


def _plot_fanout(plt: Any, record: BenchRecord) -> Any:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    kinds = [s.author_kind for s in record.fanout]
    width = 0.25
    for offset, attr in ((-width, "p50_ms"), (0.0, "p99_ms"), (width, "max_ms")):
        values = [getattr(s, attr) or 0.0 for s in record.fanout]
        ax.bar([i + offset for i in range(len(kinds))], values, width, label=attr[:-3])
    ax.set_xticks(range(len(kinds)))
    ax.set_xticklabels([f"{s.author_kind}\n{s.delivered}/{s.posts} delivered, {s.missing} missing"
                        for s in record.fanout])
    ax.set_ylabel("fanout lag (ms)")
    ax.legend()
    ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(f"roost bench: {record.name}\n{record.conditions.date}  commit "
                 f"{record.conditions.commit[:12]}", fontsize=10)
    fig.tight_layout()
    return fig
