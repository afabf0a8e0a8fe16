"""The indexer: keeps the full-text index of statuses in step with the log."""

from __future__ import annotations

from roost.ports.log import Record
from roost.services.search import SearchService
from roost.services.statuses import StatusesService


class IndexerWorker:
    group = "search"

    def __init__(self, search: SearchService, statuses: StatusesService) -> None:
        self._search = search
        self._statuses = statuses

    async def handle(self, record: Record) -> None:
        event = record.event
        if event["type"] == "status.created" and not event.get("reblog_of_id"):
            status = (await self._statuses.get_many([event["status_id"]])).get(event["status_id"])
            if status is not None:  # deleted since: nothing to index
                await self._search.index(status)
        elif event["type"] == "status.deleted":
            await self._search.unindex(event["status_id"])
        elif event["type"] == "account.indexable":
            await self._search.rescope(event["account_id"])
