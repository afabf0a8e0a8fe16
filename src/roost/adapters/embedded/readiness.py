"""Readiness of the embedded storage: can every file take a write, and is there disk left?

A ``SELECT 1`` (the old /ready) answers for a read-only file, a full disk and a
damaged page alike, while every write fails. So each file gets a write probe, the
data directory's disk is measured against ``min_free_disk_bytes``, and a fault seen
by a real query keeps the file "not ready" until a probe succeeds (a damaged file
until the next start). Load balancers poll /ready, so the result is reused for
``ready_cache_seconds``.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from roost.adapters.embedded.faults import FaultRecord
from roost.errors import RoostError

# Pages the probe allocates (and rolls back): a status and its rows need fewer.
_ROOM_PAGES = 8
# A probe must not hold the event loop for SQLite's full busy_timeout.
_PROBE_BUSY_MS = 200
_BUSY_MS = 5000


def write_probe(conn: sqlite3.Connection) -> None:
    """Commit a one-row upsert, and inside it allocate ``_ROOM_PAGES`` new pages and
    roll them back.

    The committed upsert goes through the WAL to the file: it fails on a read-only
    file, connection or mount (SQLITE_READONLY), on an I/O error, or on a lock held
    past the probe's timeout. The rolled-back allocation asks SQLite for room the way
    an insert does, so it fails with SQLITE_FULL when the database cannot grow
    (``max_page_count``). What it cannot see is an OS-level full disk while the WAL
    still has room: that is what the free-space check is for.
    ``BEGIN IMMEDIATE; ROLLBACK`` alone proves none of this: it takes the lock and
    writes nothing.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS health_probe"
        " (id INTEGER PRIMARY KEY, checked_at INTEGER NOT NULL, room BLOB)"
    )
    page_size = int(conn.execute("PRAGMA page_size").fetchone()[0])
    conn.execute(f"PRAGMA busy_timeout={_PROBE_BUSY_MS}")
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(
                "INSERT INTO health_probe (id, checked_at) VALUES (1, ?)"
                " ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at",
                (int(time.time() * 1000),),
            )
            conn.execute("SAVEPOINT room")
            conn.execute(
                "INSERT INTO health_probe (id, checked_at, room) VALUES (2, 0, zeroblob(?))",
                (page_size * _ROOM_PAGES,),
            )
            conn.execute("ROLLBACK TO room")
            conn.execute("RELEASE room")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise
    finally:
        conn.execute(f"PRAGMA busy_timeout={_BUSY_MS}")


@dataclass(frozen=True)
class ProbeTarget:
    """One file: how to probe it, and where its faults are recorded."""

    label: str
    probe: Callable[[], Awaitable[bool]]  # False: could not probe now, the last result stands
    faults: FaultRecord


def free_disk_bytes(directory: Path) -> int:
    """Bytes an unprivileged writer may still use on ``directory``'s file system
    (f_bavail: root's reserved blocks do not count)."""
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize


def human_bytes(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(n) < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def disk_check(directory: Path, min_free: int) -> tuple[str, int | None]:
    """("ok" or what is wrong, the free bytes if they could be read) for ``directory``'s disk."""
    try:
        free = free_disk_bytes(directory)
    except OSError as exc:
        return f"error: {exc}", None
    if free >= min_free:
        return "ok", free
    return f"low: {human_bytes(free)} free, below min_free_disk_bytes ({human_bytes(min_free)})", free


@dataclass(frozen=True)
class Report:
    ok: bool
    checks: dict[str, str]  # "ok" or what is wrong, per check
    free_disk_bytes: int | None
    min_free_disk_bytes: int


class ReusedReport:
    """A readiness check whose report is reused for ``cache_seconds``: load balancers poll /ready."""

    def __init__(self, cache_seconds: float) -> None:
        self._cache_seconds = cache_seconds
        self._cached: Report | None = None
        self._at = 0.0

    async def check(self) -> Report:
        """Every check, reused for ``cache_seconds``."""
        now = time.monotonic()
        if self._cached is None or now - self._at >= self._cache_seconds:
            self._cached = await self.run_checks()
            self._at = time.monotonic()
        return self._cached

    async def run_checks(self) -> Report:
        raise NotImplementedError


class StorageReadiness(ReusedReport):
    def __init__(
        self, data_dir: Path, targets: Sequence[ProbeTarget], min_free_bytes: int, cache_seconds: float,
    ) -> None:
        super().__init__(cache_seconds)
        self._data_dir = data_dir
        self._targets = targets
        self._min_free = min_free_bytes

    async def run_checks(self) -> Report:
        checks: dict[str, str] = {}
        checks["disk"], free = disk_check(self._data_dir, self._min_free)
        ok = checks["disk"] == "ok"
        for target in self._targets:
            try:
                probed = await target.probe()
            except RoostError:
                pass  # a storage fault: recorded in target.faults
            except sqlite3.Error as exc:
                target.faults.record("error", str(exc))
            else:
                if probed:
                    target.faults.probe_succeeded()
            fault = target.faults.last
            if fault is None:
                checks[target.label] = "ok"
            else:
                ok = False
                checks[target.label] = f"{fault.kind}: {fault.message}"
        return Report(ok, checks, free, self._min_free)
