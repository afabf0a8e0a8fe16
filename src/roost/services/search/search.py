"""Search: accounts by username or display-name prefix, statuses by full text.

Which statuses a viewer may find follows Mastodon 4.2+ (StatusesSearchService with
PublicStatusesIndex and StatusesIndex' ``searchable_by``):

* public statuses of authors who opted in (``indexable``);
* the viewer's own statuses and those that mention the viewer;
* statuses the viewer favourited or reblogged;

each then filtered by who may see it now (a private status favourited while following
drops out after an unfollow). Never anyone else's unlisted, private or direct status
otherwise, and nothing at all without a signed-in user.

The first two come from the index alone (see ``schema``); the third from the viewer's
own favourites and reblogs, walked newest first and matched against the index by rowid.
The status index is eventually consistent: the indexer worker feeds it from the log.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from roost.domain.entities import Account, Status
from roost.services.accounts import AccountsService
from roost.services.context import Backends
from roost.services.statuses import StatusesService

_WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 16
PUBLIC_SCOPE = "public"
_FIRST_BATCH = 200  # interactions matched per query at first; grows 4x while more are needed
_MAX_BATCH = 4000
_IN_CHUNK = 500  # rowids per "rowid IN (...)" probe
_RESCOPE_BATCH = 500

IdSource = Callable[[int, "int | None", "int | None", int], Awaitable[list[int]]]


def fts_query(text: str) -> str | None:
    """A safe FTS5 query on the text column: every word quoted (no operators), all required."""
    words = _WORD_RE.findall(text)
    if not words:
        return None
    return "body : (" + " ".join(f'"{w}"' for w in words[:MAX_WORDS]) + ")"


def searchers_of(status: Status) -> str:
    """The index tokens naming who may always find ``status``: its author and mentions."""
    return " ".join([f"a{status.account_id}", *(f"m{m}" for m in status.mention_ids)])


def _bounds(max_id: int | None, min_id: int | None) -> tuple[str, list[object]]:
    clauses = ""
    params: list[object] = []
    if max_id is not None:
        clauses += " AND rowid < ?"
        params.append(max_id)
    if min_id is not None:
        clauses += " AND rowid > ?"
        params.append(min_id)
    return clauses, params


class SearchService:
    def __init__(self, backends: Backends, accounts: AccountsService, statuses: StatusesService) -> None:
        self._db = backends.db
        self._accounts = accounts
        self._statuses = statuses
        self._interactions_scanned = backends.settings.search_interactions_scanned
        self.indexed = 0

    async def start(self) -> None:
        """Index again, from the statuses table, a shard whose index predates the
        current layout (schema version 2)."""
        for shard in self._db.shards:
            if await shard.fetch_one("SELECT pending FROM search_backfill LIMIT 1") is None:
                continue
            async with shard.transaction() as tx:
                await tx.execute("DELETE FROM statuses_fts")
                await tx.execute(
                    "INSERT INTO statuses_fts (rowid, body, searchers, scope)"
                    " SELECT s.id, s.spoiler_text || char(10) || s.text,"
                    " 'a' || s.account_id || CASE WHEN s.mention_ids = '' THEN ''"
                    " ELSE ' m' || replace(s.mention_ids, ' ', ' m') END,"
                    " CASE WHEN s.visibility = 'public' AND a.indexable THEN ? ELSE '' END"
                    " FROM statuses s LEFT JOIN accounts a ON a.id = s.account_id"
                    " WHERE s.reblog_of_id IS NULL",
                    (PUBLIC_SCOPE,),
                )
                await tx.execute("DELETE FROM search_backfill")

    # -- the index (the indexer worker calls these) ------------------------------------------

    async def index(self, status: Status) -> None:
        if status.reblog_of_id is not None:
            return
        body = f"{status.spoiler_text}\n{status.text}".strip()
        listed = status.visibility == "public" and await self._accounts.is_indexable(status.account_id)
        shard = self._db.for_id(status.id)
        async with shard.transaction() as tx:
            await tx.execute("DELETE FROM statuses_fts WHERE rowid = ?", (status.id,))
            await tx.execute(
                "INSERT INTO statuses_fts (rowid, body, searchers, scope) VALUES (?, ?, ?, ?)",
                (status.id, body, searchers_of(status), PUBLIC_SCOPE if listed else ""),
            )
        self.indexed += 1

    async def unindex(self, status_id: int) -> None:
        await self._db.for_id(status_id).execute("DELETE FROM statuses_fts WHERE rowid = ?", (status_id,))

    async def rescope(self, account_id: int) -> None:
        """Mark the account's public statuses as findable by anyone, or not, after it
        changed ``indexable`` (the current value is read, so a replay is harmless)."""
        scope = PUBLIC_SCOPE if await self._accounts.is_indexable(account_id) else ""
        shard = self._db.for_id(account_id)
        below: int | None = None
        while True:
            ids = await self._statuses.public_ids_of(account_id, below, _RESCOPE_BATCH)
            if ids:
                marks = ",".join("?" * len(ids))
                await shard.execute(f"UPDATE statuses_fts SET scope = ? WHERE rowid IN ({marks})", (scope, *ids))
            if len(ids) < _RESCOPE_BATCH:
                return
            below = ids[-1]

    # -- queries --------------------------------------------------------------------------------

    async def accounts(self, query: str, limit: int, offset: int = 0) -> list[Account]:
        return await self._accounts.search(query, limit, offset)

    async def statuses(
        self, query: str, viewer_id: int | None, limit: int, offset: int = 0,
        max_id: int | None = None, min_id: int | None = None, account_id: int | None = None,
    ) -> list[Status]:
        words = fts_query(query)
        if words is None or viewer_id is None:
            return []  # Mastodon searches statuses only for a signed-in user
        want = limit + offset
        found = {s.id: s for s in await self._indexed(words, viewer_id, want, max_id, min_id, account_id)}
        for source in (self._statuses.favourited_ids, self._statuses.reblogged_ids):
            for status in await self._interacted(source, words, viewer_id, want, max_id, min_id, account_id):
                found[status.id] = status
        newest = sorted(found, reverse=True)[offset : offset + limit]
        return [found[i] for i in newest]

    async def _indexed(
        self, words: str, viewer_id: int, want: int, max_id: int | None, min_id: int | None,
        account_id: int | None,
    ) -> list[Status]:
        """Matches findable by anyone (public, indexable author) or naming the viewer as
        author or mention: one FTS query per shard, newest first, stopping at ``want``."""
        match = f'{words} AND (scope : "{PUBLIC_SCOPE}" OR searchers : "a{viewer_id}" OR searchers : "m{viewer_id}")'
        shards = self._db.shards
        if account_id is not None:
            match += f' AND searchers : "a{account_id}"'
            shards = [self._db.for_id(account_id)]  # an author's statuses live on its shard
        clauses, params = _bounds(max_id, min_id)
        ids: list[int] = []
        for shard in shards:
            rows = await shard.fetch_all(
                f"SELECT rowid AS id FROM statuses_fts WHERE statuses_fts MATCH ?{clauses}"
                " ORDER BY rowid DESC LIMIT ?",
                (match, *params, want),
            )
            ids.extend(r["id"] for r in rows)
        ids.sort(reverse=True)
        statuses = await self._statuses.get_many(ids)
        return await self._statuses.visible_to([statuses[i] for i in ids if i in statuses], viewer_id)

    async def _interacted(
        self, source: IdSource, words: str, viewer_id: int, want: int, max_id: int | None,
        min_id: int | None, account_id: int | None,
    ) -> list[Status]:
        """The newest ``want`` matches among the statuses ``source`` lists for the viewer
        (favourited or reblogged) that the viewer may still see."""
        out: list[Status] = []
        below, batch, scanned = max_id, _FIRST_BATCH, 0
        while scanned < self._interactions_scanned:
            batch = min(batch, self._interactions_scanned - scanned)
            ids = await source(viewer_id, below, min_id, batch)
            scanned += len(ids)
            matched = sorted(await self._matching(words, ids), reverse=True)
            if matched:
                statuses = await self._statuses.get_many(matched)
                candidates = [statuses[i] for i in matched if i in statuses]
                if account_id is not None:
                    candidates = [s for s in candidates if s.account_id == account_id]
                out.extend(await self._statuses.visible_to(candidates, viewer_id))
            if len(out) >= want or len(ids) < batch:
                break
            below, batch = ids[-1], min(batch * 4, _MAX_BATCH)
        return out

    async def _matching(self, words: str, ids: list[int]) -> list[int]:
        """Those of ``ids`` whose text matches: rowid probes into each shard's index."""
        by_shard: dict[int, list[int]] = {}
        for status_id in ids:
            by_shard.setdefault(self._db.shard_map.physical_for_id(status_id), []).append(status_id)
        out: list[int] = []
        for physical, group in by_shard.items():
            for start in range(0, len(group), _IN_CHUNK):
                chunk = group[start : start + _IN_CHUNK]
                rows = await self._db.shards[physical].fetch_all(
                    "SELECT rowid AS id FROM statuses_fts WHERE statuses_fts MATCH ?"
                    f" AND rowid IN ({','.join('?' * len(chunk))})",
                    (words, *chunk),
                )
                out.extend(r["id"] for r in rows)
        return out
