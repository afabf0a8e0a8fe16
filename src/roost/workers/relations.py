"""The relations worker: finishes, from the log, the halves of cross-shard relations
that a request writes after its own commit.

A reply's place in its parent's thread, a reblog in its original's reblogger
list (each with its counter) and a favourite on the favouriter's side are
written after the event that announces them has committed. The request writes
them at once; this worker writes them again from the event, idempotently, so a
crash between the two halves leaves nothing missing or miscounted once the log
is consumed (see ``services/statuses/links.py``).
"""

from __future__ import annotations

from roost.ports.log import Record
from roost.services.statuses import InteractionsService, StatusesService


class RelationsWorker:
    group = "relations"

    def __init__(self, statuses: StatusesService, interactions: InteractionsService) -> None:
        self._statuses = statuses
        self._interactions = interactions

    async def handle(self, record: Record) -> None:
        event = record.event
        kind = event["type"]
        if kind == "status.created":
            parent, original = event.get("in_reply_to_id"), event.get("reblog_of_id")
            if parent is None and original is None:
                return
            status_id = event["status_id"]
            if status_id not in await self._statuses.get_many([status_id]):
                return  # deleted since: its status.deleted follows in this partition
            if parent is not None:
                await self._statuses.links.link_reply(parent, status_id)
            if original is not None:
                await self._statuses.links.link_reblog(original, event["account_id"], status_id)
        elif kind == "status.deleted":
            await self._statuses.unlink(
                event["status_id"], event["account_id"], event.get("in_reply_to_id"), event.get("reblog_of_id")
            )
        elif kind in ("favourite.created", "favourite.deleted"):
            await self._interactions.reconcile_favourite(event["account_id"], event["status_id"])
