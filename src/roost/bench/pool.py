"""Bounded-concurrency driving of many small async jobs, with progress lines."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import TextIO, TypeVar

T = TypeVar("T")


async def run_bounded(
    jobs: Iterable[T], worker: Callable[[T], Awaitable[None]], concurrency: int
) -> None:
    """Run ``worker(job)`` for every job, at most ``concurrency`` at a time.

    Workers pull from one shared iterator instead of one task per job, so ten
    million follow edges never become ten million pending tasks, and a lazy
    iterator is consumed in order. The first failure cancels the rest.
    """
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    iterator = iter(jobs)

    async def drain() -> None:
        for job in iterator:
            await worker(job)

    try:
        async with asyncio.TaskGroup() as group:
            for _ in range(concurrency):
                group.create_task(drain())
    except ExceptionGroup as group_error:
        # Callers handle one failure (the first), not a group of them.
        raise group_error.exceptions[0] from group_error


class Progress:
    """Counts done and failed items of one phase and prints a line now and then."""

    def __init__(self, phase: str, total: int | None = None, out: TextIO | None = None,
                 every_s: float = 5.0) -> None:
        self.phase = phase
        self.total = total
        self.done = 0
        self.failed = 0
        self._out = out if out is not None else sys.stderr
        self._every = every_s
        self._start = time.monotonic()
        self._last = self._start

    def tick(self, ok: bool = True, n: int = 1) -> None:
        if ok:
            self.done += n
        else:
            self.failed += n
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._print(now)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._start

    def finish(self) -> dict[str, float]:
        self._print(time.monotonic(), final=True)
        return {"done": self.done, "failed": self.failed, "seconds": round(self.elapsed, 3)}

    def _print(self, now: float, final: bool = False) -> None:
        elapsed = max(now - self._start, 1e-9)
        of = f"/{self.total}" if self.total is not None else ""
        failed = f", {self.failed} failed" if self.failed else ""
        state = "done" if final else "..."
        print(
            f"  {self.phase}: {self.done}{of}{failed} in {elapsed:.1f}s "
            f"({self.done / elapsed:.0f}/s) {state}",
            file=self._out,
            flush=True,
        )
