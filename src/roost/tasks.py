"""Background tasks of roost's components (consumers, monitors, heartbeats)."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` (if any) and wait until it has ended, so a component's stop
    returns only once its work is really over. A task that had already failed
    raises its error here, as awaiting it would."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
