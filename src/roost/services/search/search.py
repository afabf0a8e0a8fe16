"""Search: accounts by username or display-name prefix, statuses by full text
(only what the searcher may see). The status index is eventually consistent:
the indexer worker feeds it from the log."""

from __future__ import annotations

import re

from roost.domain.entities import Account, Status
from roost.services.accounts import AccountsService
from roost.services.context import Backends
from roost.services.statuses import StatusesService

_WORD_RE = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """A safe FTS5 query: every word quoted (no operators), all required."""
    words = _WORD_RE.findall(text)
    if not words:
        return None
    return " ".join(f'"{w}"' for w in words[:16])


class SearchService:
    def __init__(self, backends: Backends, accounts: AccountsService, statuses: StatusesService) -> None:
        self._db = backends.db
        self._accounts = accounts
        self._statuses = statuses
        self.indexed = 0

    async def index(self, status: Status) -> None:
        if status.reblog_of_id is not None:
            return
        body = f"{status.spoiler_text}\n{status.text}".strip()
        shard = self._db.for_id(status.id)
        await shard.execute("DELETE FROM statuses_fts WHERE rowid = ?", (status.id,))
        await shard.execute("INSERT INTO statuses_fts (rowid, body) VALUES (?, ?)", (status.id, body))
        self.indexed += 1

    async def unindex(self, status_id: int) -> None:
        await self._db.for_id(status_id).execute("DELETE FROM statuses_fts WHERE rowid = ?", (status_id,))

    async def accounts(self, query: str, limit: int, offset: int = 0) -> list[Account]:
        return await self._accounts.search(query, limit, offset)

    async def statuses(
        self, query: str, viewer_id: int | None, limit: int, offset: int = 0,
        max_id: int | None = None, min_id: int | None = None, account_id: int | None = None,
    ) -> list[Status]:
        match = fts_query(query)
        if match is None:
            return []
        want = limit + offset
        ids: list[int] = []
        for shard in self._db.shards:
            clauses = ""
            params: list[object] = [match]
            if max_id is not None:
                clauses += " AND rowid < ?"
                params.append(max_id)
            if min_id is not None:
                clauses += " AND rowid > ?"
                params.append(min_id)
            rows = await shard.fetch_all(
                f"SELECT rowid AS id FROM statuses_fts WHERE statuses_fts MATCH ?{clauses}"
                " ORDER BY rowid DESC LIMIT ?",
                (*params, want * 4),
            )
            ids.extend(r["id"] for r in rows)
        ids.sort(reverse=True)
        found = await self._statuses.get_many(ids)
        candidates = [found[i] for i in ids if i in found]
        if account_id is not None:
            candidates = [s for s in candidates if s.account_id == account_id]
        visible = await self._statuses.visible_to(candidates, viewer_id)
        return visible[offset : offset + limit]
