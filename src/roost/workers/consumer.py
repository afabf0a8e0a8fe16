"""Runs a handler over every partition of the log as one consumer group.

Offsets are committed after a round (a batch from every partition) is handled,
so a crash replays at most one round (handlers are idempotent). A failing
record is retried with backoff rather than skipped: fanout must not silently
lose a status.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from roost.errors import InsufficientStorage, Unavailable
from roost.failpoints import Failpoints
from roost.ports.log import Log, Record
from roost.tasks import cancel_and_wait

logger = logging.getLogger("roost.workers")
Handler = Callable[[Record], Awaitable[None]]


class Consumer:
    def __init__(
        self, log: Log, group: str, handler: Handler, failpoints: Failpoints | None = None,
        batch: int = 256, before_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.log = log
        self.group = group
        self._handler = handler
        self._failpoints = failpoints or Failpoints()
        self._batch = batch
        # Makes the handler's batched writes durable before the offset moves past them.
        self._before_commit = before_commit
        self._task: asyncio.Task[None] | None = None
        self.processed = 0
        self.errors = 0

    async def poll_once(self) -> int:
        """Handle what is waiting on every partition; returns how many records were handled.

        The handler's batched writes are made durable once for the whole round
        (``before_commit``), then every partition's offset moves: one timeline
        commit per round instead of one per partition, since events are spread
        over all partitions."""
        handled = 0
        reached: list[tuple[int, int]] = []
        for partition in range(self.log.partitions):
            records = await self.log.read(self.group, partition, self._batch)
            for record in records:
                await self._handle_with_retry(record)
                handled += 1
                await asyncio.sleep(0)  # let requests in between records
            if records:
                reached.append((partition, records[-1].offset))
        if reached:
            if self._before_commit is not None:
                await self._before_commit()
            self._failpoints.hit(f"{self.group}.before_commit")
            for partition, offset in reached:
                await self.log.commit(self.group, partition, offset)
        self.processed += handled
        return handled

    async def _handle_with_retry(self, record: Record) -> None:
        delay = 0.05
        while True:
            try:
                await self._handler(record)
                return
            except asyncio.CancelledError:
                raise
            except (InsufficientStorage, Unavailable) as exc:
                # The storage adapter has logged the fault; a traceback per retry adds nothing.
                self.errors += 1
                logger.warning("%s: record %s/%s waits for storage: %s", self.group, record.partition,
                               record.offset, exc.message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except Exception:
                self.errors += 1
                logger.exception("%s: record %s/%s failed; retrying", self.group, record.partition, record.offset)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def drain(self) -> None:
        while await self.poll_once():
            pass

    async def run(self) -> None:
        delay = 0.05
        while True:
            try:
                if not await self.poll_once():
                    await self.log.wait(0.5)
                delay = 0.05
            except (InsufficientStorage, Unavailable) as exc:
                # A full disk while committing the round: without this the task would
                # end and the group stop for good. The round is handled again once
                # storage is back (handlers are idempotent).
                self.errors += 1
                logger.warning("%s: round not committed, retrying: %s", self.group, exc.message)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run(), name=f"consumer:{self.group}")

    async def stop(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None

    async def lag(self) -> int:
        return await self.log.lag(self.group)
