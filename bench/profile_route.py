"""Profile one route in-process, without an HTTP server or a load generator.

Calls the ASGI app directly with the tokens of a seeded state, so the time per
request is roost's own Python (what `roost bench run` cannot separate from the
HTTP server and wrk). For finding where the time goes, not for figures.

    python bench/profile_route.py --data-dir D --state STATE.json [--path /api/v1/timelines/home?limit=20]
        [--requests 20000] [--rounds 3] [--profile out.prof]

It also prints the CPU time per request (the process's, not the wall clock's): on a
shared machine that moves far less with the other tenants, so two source trees can be
compared by running this script under each at the same time, each on its own copy of
the data (``PYTHONPATH=TREE/src python bench/profile_route.py ...``), and reading the
medians (bench/NOTES.md, session 5).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import random
import time
from pathlib import Path
from typing import Any


async def drive(app: Any, scopes: list[dict[str, Any]], n: int) -> tuple[float, float]:
    """(wall seconds, CPU seconds) for ``n`` requests."""
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    started, cpu = time.perf_counter(), time.process_time()
    for i in range(n):
        await app(scopes[i % len(scopes)], receive, send)
        if len(sent) > 1000:
            if sent[0].get("status", 200) != 200:
                raise SystemExit(f"unexpected response: {sent[0]} {sent[1]}")
            sent.clear()
    return time.perf_counter() - started, time.process_time() - cpu


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--path", default="/api/v1/timelines/home?limit=20")
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile")
    args = parser.parse_args()
    os.environ["ROOST_DATA_DIR"] = args.data_dir
    from roost.gateway.app import create_app

    app = create_app()
    from roost.bench.graph import ZipfChooser
    from roost.bench.state import BenchState
    from roost.bench.workloads import WorkloadData

    # The same readers, Zipf-chosen, as the wrk workload.
    readers = WorkloadData.from_state(BenchState.load(Path(args.state))).readers
    draws = ZipfChooser(len(readers), 1.0).draws(random.Random(0), 50_000)
    path, _, query = args.path.partition("?")
    scopes = [
        {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
            "root_path": "", "server": ("127.0.0.1", 8080), "client": ("127.0.0.1", 5000),
            "headers": [(b"host", b"127.0.0.1:8080"), (b"authorization", f"Bearer {readers[i]}".encode())],
        }
        for i in draws
    ]
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})

    async def lifespan_send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    started = asyncio.Event()
    life = asyncio.create_task(app.app({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, lifespan_send))
    await started.wait()
    await drive(app, scopes, len(scopes))  # warm the timelines and memos
    import gc

    collecting: dict[str, float] = {}
    spent = [0.0] * 3

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            collecting["t"] = time.perf_counter()
        else:
            spent[info["generation"]] += time.perf_counter() - collecting["t"]

    gc.callbacks.append(on_gc)
    rounds = [await drive(app, scopes, args.requests) for _ in range(args.rounds)]
    # The machine's noise only ever adds time: the best round is the wall-clock figure.
    elapsed = min(wall for wall, _ in rounds)
    print(f"{args.requests} requests in {elapsed:.2f}s: {elapsed / args.requests * 1e6:.1f} us/request")
    cpu = sorted(c / args.requests * 1e6 for _, c in rounds)
    print(f"CPU per request: median {cpu[len(cpu) // 2]:.1f} us, min {cpu[0]:.1f} us over {len(cpu)} rounds")
    print("time in gc by generation (s, all passes):", [round(x, 3) for x in spent])
    pages = app.state.gateway.serializer.pages
    print(f"page memo: {pages.hits} hits, {pages.misses} misses")
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        await drive(app, scopes, args.requests)
        profiler.disable()
        profiler.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(35)
    await messages.put({"type": "lifespan.shutdown"})
    await life


if __name__ == "__main__":
    import uvloop

    uvloop.run(main())
