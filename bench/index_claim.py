"""The indexing claim of issue #9: a lookup by email on a 10,000,000-row table, without and with
a B-tree index, on SQLite and on PostgreSQL.

    python bench/index_claim.py [--rows 10000000] [--engines sqlite,postgres]
                                [--scans 7] [--lookups 201] [--out FILE.json]

The design article says about 2,000 ms without an index and 5 ms with one (400x). For each
engine this builds a table of (id, email, username, created_at) in a fresh temporary directory
(SQLite: executemany in one transaction; PostgreSQL: COPY into one node started through
roost.cluster on a spare loopback port in a temporary state folder, stopped by its PID at the end),
then times ``SELECT id, username FROM accounts WHERE email = ?`` for random existing emails: ``--scans``
times with no index on email (a full scan; on PostgreSQL both its default parallel scan and one
on a single core), then, after ``CREATE INDEX``, ``--lookups`` times.
Each mode gets one unmeasured warm-up lookup first. Times are client-side wall clock per query
(round trip included); it prints one JSON summary with medians, the ratio and each plan.
Everything it creates is removed at the end, whatever happens.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roost.cluster import binaries, postgres, processes, topology
from roost.cluster.layout import StateDir
from roost.cluster.osuser import engine_user
from roost.cluster.supervisor import spare_ports

QUERY_SQLITE = "SELECT id, username FROM accounts WHERE email = ?"
QUERY_PG = "SELECT id, username FROM accounts WHERE email = $1"
BATCH = 100_000  # rows per executemany / COPY call: bounds the client's memory, not a tuning knob
EPOCH_MS = 1_704_067_200_000


def email(i: int) -> str:
    return f"user{i}@mail{i % 1000}.example.org"


def rows(count: int, start: int = 0) -> Iterator[tuple[int, str, str, int]]:
    for i in range(start, start + count):
        yield i + 1, email(i), f"user{i}", EPOCH_MS + i


def batches(total: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, BATCH):
        yield start, min(BATCH, total - start)


def timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return (time.perf_counter() - started) * 1000


def summary(samples: list[float]) -> dict[str, Any]:
    return {"n": len(samples), "median_ms": round(statistics.median(samples), 3),
            "min_ms": round(min(samples), 3), "max_ms": round(max(samples), 3)}


def progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


# --- SQLite ------------------------------------------------------------------------------------


def bench_sqlite(total: int, scans: int, lookups: int, picks: random.Random) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="roost-index-sqlite-"))
    try:
        db = sqlite3.connect(folder / "claim.db", isolation_level=None)
        # Loading only: no journal, no fsync (a crash just loses the throw-away file).
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, email TEXT NOT NULL,"
                   " username TEXT NOT NULL, created_at INTEGER NOT NULL)")
        started = time.perf_counter()
        db.execute("BEGIN")
        for start, count in batches(total):
            db.executemany("INSERT INTO accounts VALUES (?, ?, ?, ?)", rows(count, start))
        db.execute("COMMIT")
        load_s = time.perf_counter() - started
        progress(f"sqlite: loaded {total:,} rows in {load_s:.1f} s")
        size = (folder / "claim.db").stat().st_size

        def lookup(key: str) -> None:
            found = db.execute(QUERY_SQLITE, (key,)).fetchall()
            assert len(found) == 1, key

        def plan() -> list[str]:
            return [str(r[-1]) for r in db.execute("EXPLAIN QUERY PLAN " + QUERY_SQLITE, ("x",))]

        keys = [email(picks.randrange(total)) for _ in range(scans + 1)]
        lookup(keys[0])
        unindexed = [timed(lambda k=k: lookup(k)) for k in keys[1:]]  # type: ignore[misc]
        plan_unindexed = plan()
        progress(f"sqlite: {scans} scans, median {statistics.median(unindexed):.1f} ms")
        started = time.perf_counter()
        db.execute("CREATE INDEX accounts_email ON accounts (email)")
        index_s = time.perf_counter() - started
        keys = [email(picks.randrange(total)) for _ in range(lookups + 1)]
        lookup(keys[0])
        indexed = [timed(lambda k=k: lookup(k)) for k in keys[1:]]  # type: ignore[misc]
        plan_indexed = plan()
        db.close()
        return {
            "engine": f"SQLite {sqlite3.sqlite_version} (Python sqlite3, page cache default,"
                      " file in the OS page cache after the load)",
            "load_s": round(load_s, 1), "create_index_s": round(index_s, 1),
            "file_bytes": size, "without_index": summary(unindexed),
            "with_index": summary(indexed),
            "ratio": round(statistics.median(unindexed) / statistics.median(indexed)),
            "plan_without_index": plan_unindexed, "plan_with_index": plan_indexed,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# --- PostgreSQL ---------------------------------------------------------------------------------


def bench_postgres(total: int, scans: int, lookups: int, picks: random.Random) -> dict[str, Any]:
    # Not under /tmp's default mode: PostgreSQL runs as `postgres` when we are root, and must pass
    # through the state folder to its own node folder (as in tests/cluster/conftest.py).
    root = Path(tempfile.mkdtemp(prefix="roost-index-pg-"))
    state = StateDir(root)
    state.create()
    engine = postgres.Engine(binaries.postgres_bindir(), engine_user("postgres"), state)
    # roost cluster up's engine settings (shared_buffers 32MB...), with fsync off: a throw-away
    # node whose load time should not be the disk's.
    layout = topology.plan(1, 0, spare_ports(), postgres=topology.PostgresSettings(fsync=False))
    layout = replace(layout, base=root)
    node = layout.primary(0)
    password = "bench-" + os.urandom(8).hex()
    (state.secrets / "pgpass").write_text(f"*:*:*:{layout.postgres.user}:{password}\n")
    (state.secrets / "pgpass").chmod(0o600)
    record: processes.ProcessRecord | None = None
    try:
        engine.init_primary(node, layout, password)
        engine.write_settings(node, layout)
        record = engine.start(node)
        progress(f"postgres: node {node.name} up on {node.host}:{node.port}, pid {record.pid}")
        asyncio.run(postgres.ensure_database(layout, node))
        return asyncio.run(_bench_postgres(layout, node, total, scans, lookups, picks))
    finally:
        if record is not None:
            engine.stop(record)
        shutil.rmtree(root, ignore_errors=True)


async def _bench_postgres(layout: topology.Topology, node: topology.PostgresNode, total: int,
                          scans: int, lookups: int, picks: random.Random) -> dict[str, Any]:
    conn = await postgres.connect(layout, node, timeout=30)
    try:
        version = await conn.fetchval("SHOW server_version")
        settings = {name: await conn.fetchval(f"SHOW {name}") for name in (
            "shared_buffers", "max_parallel_workers_per_gather", "work_mem", "fsync")}
        await conn.execute("CREATE TABLE accounts (id bigint PRIMARY KEY, email text NOT NULL,"
                           " username text NOT NULL, created_at bigint NOT NULL)")
        started = time.perf_counter()
        for start, count in batches(total):
            await conn.copy_records_to_table(
                "accounts", records=rows(count, start),
                columns=["id", "email", "username", "created_at"])
        load_s = time.perf_counter() - started
        progress(f"postgres: copied {total:,} rows in {load_s:.1f} s; VACUUM ANALYZE")
        started = time.perf_counter()
        # Sets hint bits and the visibility map once, as autovacuum would on a live table: the
        # first scan would otherwise pay for writing them.
        await conn.execute("VACUUM ANALYZE accounts")
        vacuum_s = time.perf_counter() - started
        size = await conn.fetchval("SELECT pg_table_size('accounts')")

        async def lookup(key: str) -> float:
            started = time.perf_counter()
            found = await conn.fetch(QUERY_PG, key)
            elapsed = (time.perf_counter() - started) * 1000
            assert len(found) == 1, key
            return elapsed

        async def plan(key: str) -> list[str]:
            lines = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + QUERY_PG, key)
            return [str(r[0]) for r in lines]

        keys = [email(picks.randrange(total)) for _ in range(scans + 1)]
        await lookup(keys[0])
        unindexed = [await lookup(k) for k in keys[1:]]
        plan_unindexed = await plan(keys[1])
        progress(f"postgres: {scans} scans, median {statistics.median(unindexed):.1f} ms")
        # The same scan on one core: PostgreSQL splits it over 2 workers + the leader by
        # default, which the article's single-threaded figure does not.
        await conn.execute("SET max_parallel_workers_per_gather = 0")
        keys = [email(picks.randrange(total)) for _ in range(scans)]
        serial = [await lookup(k) for k in keys]
        plan_serial = await plan(keys[0])
        await conn.execute("RESET max_parallel_workers_per_gather")
        progress(f"postgres: {scans} serial scans, median {statistics.median(serial):.1f} ms")
        started = time.perf_counter()
        await conn.execute("CREATE INDEX accounts_email ON accounts (email)")
        index_s = time.perf_counter() - started
        await conn.execute("ANALYZE accounts")
        keys = [email(picks.randrange(total)) for _ in range(lookups + 1)]
        await lookup(keys[0])
        indexed = [await lookup(k) for k in keys[1:]]
        plan_indexed = await plan(keys[1])
        return {
            "engine": f"PostgreSQL {version} (one node by roost.cluster, asyncpg, "
                      + ", ".join(f"{k}={v}" for k, v in settings.items()) + ")",
            "load_s": round(load_s, 1), "vacuum_analyze_s": round(vacuum_s, 1),
            "create_index_s": round(index_s, 1), "table_bytes": size,
            "without_index": summary(unindexed), "without_index_one_core": summary(serial),
            "with_index": summary(indexed),
            "ratio": round(statistics.median(unindexed) / statistics.median(indexed)),
            "ratio_one_core": round(statistics.median(serial) / statistics.median(indexed)),
            "plan_without_index": plan_unindexed, "plan_without_index_one_core": plan_serial,
            "plan_with_index": plan_indexed,
        }
    finally:
        await conn.close()


def conditions() -> dict[str, Any]:
    try:
        commit = subprocess.run(["git", "rev-parse", "--short=10", "HEAD"], capture_output=True,
                                text=True, check=False, cwd=Path(__file__).parent).stdout.strip()
    except OSError:
        commit = ""
    return {"date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"), "commit": commit,
            "cpus": os.cpu_count(), "load_average_1m": round(os.getloadavg()[0], 2),
            "python": platform.python_version(), "machine": platform.platform()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--engines", default="sqlite,postgres")
    parser.add_argument("--scans", type=int, default=7, help="lookups without the index (full scans)")
    parser.add_argument("--lookups", type=int, default=201, help="lookups with the index")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, help="also write the JSON summary here")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    unknown = set(engines) - {"sqlite", "postgres"}
    if unknown or not engines:
        parser.error(f"--engines takes sqlite and/or postgres, not {sorted(unknown) or 'nothing'}")
    if args.rows < 1 or args.scans < 1 or args.lookups < 1:
        parser.error("--rows, --scans and --lookups must be at least 1")
    if "postgres" in engines and binaries.missing_engines():
        parser.error("PostgreSQL is not installed (`make engines`): " + "; ".join(binaries.missing_engines()))
    started = time.perf_counter()
    result: dict[str, Any] = {
        "command": " ".join(["python", "bench/index_claim.py", *sys.argv[1:]]),
        "rows": args.rows, "query": "SELECT id, username FROM accounts WHERE email = ?",
        "claim": {"without_index_ms": 2000, "with_index_ms": 5, "ratio": 400},
        "conditions": conditions(), "engines": {},
    }
    for name in engines:
        picks = random.Random(args.seed)
        bench = bench_sqlite if name == "sqlite" else bench_postgres
        result["engines"][name] = bench(args.rows, args.scans, args.lookups, picks)
    result["total_s"] = round(time.perf_counter() - started, 1)
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()
