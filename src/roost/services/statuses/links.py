"""The other half of a status relation that lives on another shard, with its counter.

A reply is stored on its author's shard, a reblog's wrapper on the reblogger's,
but the thread (``status_replies``) and the reblogger list (``reblogs``) are
stored with the parent or the original, next to the counter that counts them
(moved in that transaction, or written back later: services/status_counters.py).
Each half is written in its own transaction, so a crash can fall between the
two. Every link here is therefore idempotent and its repository changes the
counter in the same transaction as the row (the counter moves only if the row
did): the request path links at once, and the relations worker links again from
the log, so the thread, the list and the counter end up exact after any crash.
"""

from __future__ import annotations

from roost.ports.counters import StatusCounter, StatusCounterPolicy
from roost.ports.database import ShardedDatabase
from roost.ports.statuses import Reblogs, ThreadLinks


class StatusLinks:
    def __init__(self, db: ShardedDatabase, counters: StatusCounterPolicy, threads: ThreadLinks,
                 reblogs: Reblogs) -> None:
        self._db = db
        self._counters = counters
        self._threads = threads
        self._reblogs = reblogs

    async def link_reply(self, parent_id: int, reply_id: int) -> bool:
        async with self._db.for_id(parent_id).transaction() as tx:
            changed = await self._threads.link(tx, parent_id, reply_id, count=self._counters.in_transaction)
        return await self._changed(parent_id, changed, "replies_count", 1)

    async def unlink_reply(self, parent_id: int, reply_id: int) -> bool:
        async with self._db.for_id(parent_id).transaction() as tx:
            changed = await self._threads.unlink(tx, parent_id, reply_id, count=self._counters.in_transaction)
        return await self._changed(parent_id, changed, "replies_count", -1)

    async def link_reblog(self, original_id: int, account_id: int, wrapper_id: int) -> bool:
        async with self._db.for_id(original_id).transaction() as tx:
            changed = await self._reblogs.link(tx, original_id, account_id, wrapper_id,
                                               count=self._counters.in_transaction)
        return await self._changed(original_id, changed, "reblogs_count", 1)

    async def unlink_reblog(self, original_id: int, account_id: int, wrapper_id: int) -> bool:
        async with self._db.for_id(original_id).transaction() as tx:
            changed = await self._reblogs.unlink(tx, original_id, account_id, wrapper_id,
                                                 count=self._counters.in_transaction)
        return await self._changed(original_id, changed, "reblogs_count", -1)

    async def reblog_wrappers(self, original_id: int) -> list[int]:
        return await self._reblogs.wrappers(original_id)

    async def replies(self, parent_id: int) -> list[int]:
        return await self._threads.replies(parent_id)

    async def _changed(self, status_id: int, changed: bool, counter: StatusCounter, delta: int) -> bool:
        if changed:
            await self._counters.changed(status_id, counter, delta)
        return changed
