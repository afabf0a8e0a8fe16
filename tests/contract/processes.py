"""Two "processes" on one store: each runs in a thread of its own with its own event
loop and its own backends opened on the same directory (for SQLite, two
SqliteDatabase objects: nothing process-local serialises them, only the engine's
own locking and constraints decide who wins)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

from roost.services.context import Backends

from .conftest import Family, open_family

Work = Callable[[Backends, int], Coroutine[Any, Any, Any]]


def both_processes(family: Family, work: Work, *, processes: int = 2) -> list[Any]:
    """``work(backends, n)`` in each process at once (started together); their results.

    The store must exist already (``family.run`` something first), so that opening it
    is a read of its manifest and migrations, not a race to create it.
    """
    start = threading.Barrier(processes)
    results: list[Any] = [None] * processes
    errors: list[BaseException] = []

    def run(n: int) -> None:
        async def main() -> Any:
            async with open_family(family.name, family.root) as backends:
                start.wait(timeout=60)
                return await work(backends, n)

        try:
            results[n] = asyncio.run(main())
        except BaseException as exc:  # handed to the test below
            errors.append(exc)
            start.abort()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(processes)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a process did not finish"
    if errors:
        raise errors[0]
    return results
