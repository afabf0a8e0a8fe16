"""Shared state for the one-process embedded shape.

The celebrity set and rate-limit counters live in memory because the embedded
shape is one server process: the set is rebuilt from the accounts at start, and a
restart resetting rate-limit windows is what it always did. Worker ids, though,
must hold against every process on the data directory (``roost`` commands run
beside the server), so they are leased with file locks there.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from roost.domain.ids import MAX_WORKERS
from roost.ports.shared_state import NoWorkerIdFree


class MemoryCelebritySet:
    """Copied on write (membership changes are rare), so ``members`` hands out the current
    frozenset itself: every home timeline read asks for it."""

    def __init__(self) -> None:
        self._members: frozenset[int] = frozenset()

    async def add(self, account_id: int) -> None:
        if account_id not in self._members:
            self._members = self._members | {account_id}

    async def remove(self, account_id: int) -> bool:
        if account_id not in self._members:
            return False
        self._members = self._members - {account_id}
        return True

    async def contains(self, account_id: int) -> bool:
        return account_id in self._members

    async def members(self) -> frozenset[int]:
        return self._members

    async def replace(self, account_ids: set[int]) -> None:
        self._members = frozenset(account_ids)


class MemoryRateLimitStore:
    # Windows older than the current one are dropped once this many counters exist.
    MAX_COUNTERS = 100_000

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}

    async def increment(self, key: str, window: int, window_seconds: int) -> int:
        if len(self._counts) > self.MAX_COUNTERS:
            self._counts = {k: v for k, v in self._counts.items() if k[1] >= window}
        count = self._counts.get((key, window), 0) + 1
        self._counts[(key, window)] = count
        return count


class FileWorkerIdLease:
    """An exclusive flock on ``<n>.lock``: the kernel drops it when the process dies, so a
    crashed process never strands its worker id, and no heartbeat is needed."""

    def __init__(self, worker_id: int, fd: int) -> None:
        self._worker_id = worker_id
        self._fd: int | None = fd

    @property
    def worker_id(self) -> int:
        return self._worker_id

    def held(self) -> bool:
        return self._fd is not None

    async def release(self) -> None:
        self.release_now()

    def release_now(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the file description drops its flock
            self._fd = None


class FileWorkerIdLeases:
    """Worker ids as lock files in a folder of the data directory. flock (not lockf): its
    locks belong to the open file, so two leases conflict even inside one process."""

    def __init__(self, folder: Path, workers: int = MAX_WORKERS) -> None:
        self._folder = folder
        self._workers = workers

    async def acquire(self) -> FileWorkerIdLease:
        return self.acquire_now()

    def acquire_now(self) -> FileWorkerIdLease:
        self._folder.mkdir(parents=True, exist_ok=True)
        for worker_id in range(self._workers):
            fd = os.open(self._folder / f"{worker_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())  # who holds it, for a person looking
            return FileWorkerIdLease(worker_id, fd)
        raise NoWorkerIdFree(f"all {self._workers} worker ids in {self._folder} are held by live processes")
