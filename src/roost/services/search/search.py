"""Search: accounts by username or display-name prefix, statuses by full text.

Which statuses a viewer may find follows Mastodon 4.2+ (StatusesSearchService with
PublicStatusesIndex and StatusesIndex' ``searchable_by``):

* public statuses of authors who opted in (``indexable``);
* the viewer's own statuses and those that mention the viewer;
* statuses the viewer favourited or reblogged;

each then filtered by who may see it now (a private status favourited while following
drops out after an unfollow). Never anyone else's unlisted, private or direct status
otherwise, and nothing at all without a signed-in user.

The first two come from the index alone (the SearchIndex port); the third from the viewer's
own favourites and reblogs, walked newest first and matched against the index by rowid.
The status index is eventually consistent: the indexer worker feeds it from the log.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from roost.domain.entities import Account, Status
from roost.ports.search import IndexedStatus
from roost.services.accounts import AccountsService
from roost.services.context import Backends
from roost.services.statuses import StatusesService

_WORD_RE = re.compile(r"\w+", re.UNICODE)
MAX_WORDS = 16
_FIRST_BATCH = 200  # interactions matched per query at first; grows 4x while more are needed
_MAX_BATCH = 4000
_RESCOPE_BATCH = 500

IdSource = Callable[[int, "int | None", "int | None", int], Awaitable[list[int]]]


def search_words(text: str) -> list[str]:
    """The words a status search requires (all of them, as words: no operators)."""
    return _WORD_RE.findall(text)[:MAX_WORDS]


class SearchService:
    def __init__(self, backends: Backends, accounts: AccountsService, statuses: StatusesService) -> None:
        self._db = backends.db
        self._index = backends.repos.search_index
        self._accounts = accounts
        self._statuses = statuses
        self._interactions_scanned = backends.settings.search_interactions_scanned
        self.indexed = 0

    async def start(self) -> None:
        """Index again, from the stored statuses, a shard whose index predates the
        current layout."""
        await self._index.rebuild_stale()

    # -- the index (the indexer worker calls these) ------------------------------------------

    async def index(self, status: Status) -> None:
        if status.reblog_of_id is not None:
            return
        listed = status.visibility == "public" and await self._accounts.is_indexable(status.account_id)
        entry = IndexedStatus(
            id=status.id, author_id=status.account_id, mention_ids=tuple(status.mention_ids),
            text=f"{status.spoiler_text}\n{status.text}".strip(), listed=listed,
        )
        async with self._db.for_id(status.id).transaction() as tx:
            await self._index.index(tx, entry)
        self.indexed += 1

    async def unindex(self, status_id: int) -> None:
        async with self._db.for_id(status_id).transaction() as tx:
            await self._index.unindex(tx, status_id)

    async def rescope(self, account_id: int) -> None:
        """Mark the account's public statuses as findable by anyone, or not, after it
        changed ``indexable`` (the current value is read, so a replay is harmless)."""
        listed = await self._accounts.is_indexable(account_id)
        shard = self._db.for_id(account_id)
        below: int | None = None
        while True:
            ids = await self._statuses.public_ids_of(account_id, below, _RESCOPE_BATCH)
            if ids:
                async with shard.transaction() as tx:
                    await self._index.set_listed(tx, ids, listed)
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
        words = search_words(query)
        if not words or viewer_id is None:
            return []  # Mastodon searches statuses only for a signed-in user
        want = limit + offset
        found = {s.id: s for s in await self._indexed(words, viewer_id, want, max_id, min_id, account_id)}
        for source in (self._statuses.favourited_ids, self._statuses.reblogged_ids):
            for status in await self._interacted(source, words, viewer_id, want, max_id, min_id, account_id):
                found[status.id] = status
        newest = sorted(found, reverse=True)[offset : offset + limit]
        return [found[i] for i in newest]

    async def _indexed(
        self, words: Sequence[str], viewer_id: int, want: int, max_id: int | None, min_id: int | None,
        account_id: int | None,
    ) -> list[Status]:
        """Matches findable by anyone (public, indexable author) or naming the viewer as
        author or mention, newest first, that the viewer may see now."""
        ids = await self._index.query(words, viewer_id, want, max_id, min_id, account_id)
        statuses = await self._statuses.get_many(ids)
        return await self._statuses.visible_to([statuses[i] for i in ids if i in statuses], viewer_id)

    async def _interacted(
        self, source: IdSource, words: Sequence[str], viewer_id: int, want: int, max_id: int | None,
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
            matched = sorted(await self._index.matching(words, ids), reverse=True)
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
