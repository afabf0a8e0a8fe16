"""Fanout into Redis home timelines: timeline inserts per second (issue #9, docs/PERFORMANCE.md).

    python bench/redis_fanout.py [--timelines 20000] [--statuses 100] [--batch 1000] [--cap 800]

Starts its own redis-server (roost.cluster.scratch_redis: a spare loopback port, stopped
by its PID), builds ``--timelines`` home timelines, then fans ``--statuses`` statuses
out to every one of them the way the fanout worker does: ``push_many`` per batch of
``--batch`` followers (one script call per 1,024 entries, pipelined). Bounded: the run
is timelines x statuses inserts. For scale, the same Redis's `redis-benchmark` SET
rate with a pipeline of 16 is measured in the same run. Prints one JSON summary.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import time
from typing import Any

from roost.adapters.redis.timelines import RedisTimelineStore
from roost.cluster.scratch_redis import RedisServer, scratch_redis
from roost.domain.ids import IdGenerator
from roost.domain.pagination import Page


async def fanout(server: RedisServer, timelines: int, statuses: int, batch: int, cap: int) -> dict[str, Any]:
    client = server.client()
    try:
        store = RedisTimelineStore(client, max_items=cap)
        ids = IdGenerator()
        names = [f"home:{n}" for n in range(timelines)]
        for name in names:  # built lists, as after each reader's first visit
            await store.replace(name, [])
        started = time.perf_counter()
        for _ in range(statuses):
            status_id = ids.next_id(1)
            for start in range(0, timelines, batch):
                await store.push_many((name, status_id) for name in names[start : start + batch])
        elapsed = time.perf_counter() - started
        inserts = timelines * statuses
        sample = await store.page(names[-1], Page(limit=cap))
        assert len(sample) == min(cap, statuses), "every insert landed"
        return {"inserts": inserts, "seconds": round(elapsed, 3), "inserts_per_s": round(inserts / elapsed),
                "memory_used": (await client.info("memory"))["used_memory_human"]}
    finally:
        await client.aclose()


def redis_benchmark(server: RedisServer) -> float | None:
    tool = shutil.which("redis-benchmark")
    if tool is None:
        return None
    out = subprocess.run([tool, "-h", server.host, "-p", str(server.port), "-a", server.password,
                          "-t", "set", "-P", "16", "-n", "1000000", "-q"],
                         capture_output=True, text=True, timeout=300, check=True).stdout
    found = re.search(r"SET: ([\d.]+) requests per second", out)
    return float(found.group(1)) if found else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--timelines", type=int, default=20_000)
    parser.add_argument("--statuses", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--cap", type=int, default=800)
    args = parser.parse_args()
    with scratch_redis() as server:
        result = asyncio.run(fanout(server, args.timelines, args.statuses, args.batch, args.cap))
        server.flush()
        set_rate = redis_benchmark(server)
    result.update(timelines=args.timelines, statuses=args.statuses, batch=args.batch, cap=args.cap,
                  redis_benchmark_set_p16_per_s=set_rate)
    if set_rate:
        result["ratio_to_set_p16"] = round(result["inserts_per_s"] / set_rate, 3)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
