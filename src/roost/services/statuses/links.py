"""The other half of a status relation that lives on another shard, with its counter.

A reply is stored on its author's shard, a reblog's wrapper on the reblogger's,
but the thread (``status_replies``) and the reblogger list (``reblogs``) are
stored with the parent or the original, next to the counter that counts them.
Each half is written in its own transaction, so a crash can fall between the
two. Every link here is therefore idempotent and changes its counter in the
same transaction as its row (the counter moves only if the row did): the
request path links at once, and the relations worker links again from the
log, so the thread, the list and the counter end up exact after any crash.
"""

from __future__ import annotations

from roost.ports.cache import Cache
from roost.ports.database import Executor, ShardedDatabase
from roost.services.counters import add_clamped

_COUNTERS = frozenset({"replies_count", "reblogs_count", "favourites_count"})


async def bump_in(tx: Executor, status_id: int, counter: str, delta: int) -> None:
    """Change a status's counter inside the caller's transaction on the status's shard
    (never below zero); drop the cached record after the commit."""
    if counter not in _COUNTERS:
        raise ValueError(counter)
    await tx.execute(f"UPDATE statuses SET {add_clamped(counter)} WHERE id = ?", (delta, delta, status_id))


class StatusLinks:
    def __init__(self, db: ShardedDatabase, cache: Cache) -> None:
        self._db = db
        self._cache = cache

    async def link_reply(self, parent_id: int, reply_id: int) -> bool:
        return await self._change(
            parent_id, "replies_count", 1,
            "INSERT INTO status_replies (parent_id, reply_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (parent_id, reply_id),
        )

    async def unlink_reply(self, parent_id: int, reply_id: int) -> bool:
        return await self._change(
            parent_id, "replies_count", -1,
            "DELETE FROM status_replies WHERE parent_id = ? AND reply_id = ?", (parent_id, reply_id),
        )

    async def link_reblog(self, original_id: int, account_id: int, wrapper_id: int) -> bool:
        return await self._change(
            original_id, "reblogs_count", 1,
            "INSERT INTO reblogs (status_id, account_id, reblog_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (original_id, account_id, wrapper_id),
        )

    async def unlink_reblog(self, original_id: int, account_id: int, wrapper_id: int) -> bool:
        # Only this wrapper's row: a replayed deletion must not undo a later reblog.
        return await self._change(
            original_id, "reblogs_count", -1,
            "DELETE FROM reblogs WHERE status_id = ? AND account_id = ? AND reblog_id = ?",
            (original_id, account_id, wrapper_id),
        )

    async def reblog_wrappers(self, original_id: int) -> list[int]:
        rows = await self._db.for_id(original_id).fetch_all(
            "SELECT reblog_id FROM reblogs WHERE status_id = ?", (original_id,)
        )
        return [r["reblog_id"] for r in rows]

    async def _change(self, status_id: int, counter: str, delta: int, sql: str, params: tuple[int, ...]) -> bool:
        async with self._db.for_id(status_id).transaction() as tx:
            changed = await tx.execute(sql, params) > 0
            if changed:
                await bump_in(tx, status_id, counter, delta)
        if changed:
            await self._cache.delete_records("s", status_id)
        return changed
