"""`roost bench`: seed a realistic social graph, load a server, report the figures.

Modules, one job each:

- ``graph``: the deterministic power-law graph plan (pure, shared by both seeders)
- ``seed_api`` / ``seed_bulk``: seed through the HTTP API, or in bulk through the service layer
- ``state``: STATE.json (accounts, tokens, celebrities, fanout probes)
- ``workloads``: the named workloads, for wrk (bench/*.lua) and the open-loop driver
- ``wrk``: closed-loop slices with wrk; ``openloop`` + ``http1``: fixed-rate slices in asyncio
- ``runner``: slices, A B B A alternation for ``--compare``, merging into figures
- ``fanout``: fanout-lag probes; ``stats``: histograms and percentiles
- ``results``, ``conditions``, ``summary``, ``plot``, ``report``: figures, their
  conditions, and their text, PNG and docs/PERFORMANCE.md forms
- ``cli`` / ``commands``: the `roost bench seed|run|report` commands
"""

from roost.bench.cli import add_bench_commands
from roost.bench.fanout import (
    FanoutConfig,
    FanoutObservation,
    FanoutProbe,
    measure_fanout,
    summarize_fanout,
)
from roost.bench.graph import (
    GraphParams,
    GraphPlan,
    InDegrees,
    PlannedStatus,
    ProbeSampler,
    ZipfChooser,
)
from roost.bench.openloop import OpenLoopConfig, run_open_loop
from roost.bench.results import BenchRecord, Conditions, FanoutSummary, LoadResult, SeriesPoint
from roost.bench.runner import LoadPlan, Side, run_load
from roost.bench.state import BenchState, SeededAccount
from roost.bench.stats import Histogram, LatencySummary, percentile

__all__ = [
    "BenchRecord",
    "BenchState",
    "Conditions",
    "FanoutConfig",
    "FanoutObservation",
    "FanoutProbe",
    "FanoutSummary",
    "GraphParams",
    "GraphPlan",
    "Histogram",
    "InDegrees",
    "LatencySummary",
    "LoadPlan",
    "LoadResult",
    "OpenLoopConfig",
    "PlannedStatus",
    "ProbeSampler",
    "SeededAccount",
    "SeriesPoint",
    "Side",
    "ZipfChooser",
    "add_bench_commands",
    "measure_fanout",
    "percentile",
    "run_load",
    "run_open_loop",
    "summarize_fanout",
]
