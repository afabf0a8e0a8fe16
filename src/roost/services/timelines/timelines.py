"""Timelines: home (precomputed by fanout, plus a read-time merge of celebrities),
public (local) and account timelines.

A home timeline never joins across shards: its ids come from the timeline
store, filled by the fanout worker, and are hydrated from the cache.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from roost.domain.content import TAG_NAME_RE
from roost.domain.entities import Status
from roost.domain.pagination import Page
from roost.errors import Unavailable
from roost.ports.statuses import AccountFilter
from roost.services.accounts import AccountsService, FollowsService
from roost.services.context import Backends
from roost.services.statuses import StatusesService


def home_key(account_id: int) -> str:
    return f"home:{account_id}"


class TimelinesService:
    def __init__(
        self,
        backends: Backends,
        accounts: AccountsService,
        follows: FollowsService,
        statuses: StatusesService,
    ) -> None:
        self._b = backends
        self._db = backends.db
        self._cache = backends.cache
        self._store = backends.timelines
        self._repo = backends.repos.statuses
        self._accounts = accounts
        self._follows = follows
        self._statuses = statuses
        self.rebuilds = 0
        self.store_fallbacks = 0  # home pages read from the database: the store was down

    # -- home ------------------------------------------------------------------------

    async def home(self, viewer_id: int, page: Page) -> list[Status]:
        key = home_key(viewer_id)
        try:
            ids = await self._store.page_if_built(key, page)
            if ids is None:
                await self.rebuild_home(viewer_id)
                ids = await self._store.page(key, page)
        except Unavailable:
            # The timeline store (Redis) is down: the page from the database, as a rebuild
            # would make it, without storing it. Slower, but the same answer.
            self.store_fallbacks += 1
            ids = page.select(sorted(set(await self._home_ids(viewer_id)), reverse=True))
        celebrities = await self._accounts.celebrities()
        if celebrities:
            celebrities = celebrities & set(await self._follows.following_ids(viewer_id))
        if celebrities:
            # Hybrid fanout: each followed celebrity's recent statuses (a cached
            # ascending list) are merged with the stored page at read time.
            ids = page.merge(ids, (await self._statuses.recent_ascending(celebrities)).values())
        found = await self._statuses.get_many(ids)
        statuses = [s for i in ids if (s := found.get(i)) is not None]
        return await self._statuses.visible_to(statuses, viewer_id)

    async def recent_ids(self, account_id: int) -> list[int]:
        """An author's recent non-direct statuses, newest first."""
        return list(reversed((await self._statuses.recent_ascending([account_id]))[account_id]))

    async def rebuild_home(self, viewer_id: int) -> None:
        """Reconstruct a cold home timeline from the statuses of the viewer and its followees."""
        self.rebuilds += 1
        await self._store.replace(home_key(viewer_id), await self._home_ids(viewer_id))

    async def _home_ids(self, viewer_id: int) -> list[int]:
        """A home timeline's ids as the database has them (a rebuild's list)."""
        authors: list[int] = []
        celebrities: list[int] = []
        merged = await self._accounts.celebrities()
        for followee in await self._follows.following_ids(viewer_id):
            (celebrities if followee in merged else authors).append(followee)
        ids = await self.statuses_for_home(viewer_id, [viewer_id, *authors])
        # A celebrity's direct statuses are fanned out to the followers they mention
        # (the read-time merge carries only non-direct ones), so a rebuild must find them too.
        ids += await self._direct_mentions(viewer_id, celebrities)
        return ids

    async def _direct_mentions(self, viewer_id: int, authors: list[int]) -> list[int]:
        """Direct statuses mentioning ``viewer_id`` among each author's newest statuses
        (as many as a timeline holds, so the scan is bounded for prolific authors)."""
        cap = self._b.settings.timeline_max_items
        found: list[int] = []
        for author in authors:
            found.extend(await self._repo.direct_mentioning(author, viewer_id, cap))
        return found

    async def statuses_for_home(self, viewer_id: int, authors: Iterable[int]) -> list[int]:
        """The newest ids by ``authors`` that belong in ``viewer_id``'s home timeline
        (direct statuses only for their author and the accounts they mention).

        A k-way merge of the authors' newest statuses: each author's index is
        read a page at a time (all authors of a shard in one statement), and
        only authors whose whole page made the cut are read further. Sorting
        every status of every followee instead cost tens of milliseconds for
        prolific followees.
        """
        cap = self._b.settings.timeline_max_items
        authors = list(dict.fromkeys(authors))
        if not authors:
            return []
        per_author = max(8, cap // len(authors))
        chosen: list[int] = []
        pending: dict[int, int | None] = dict.fromkeys(authors)  # author -> read below this id
        while pending:
            pages = await self._repo.home_pages(viewer_id, pending, per_author)
            for page_ids in pages.values():
                chosen.extend(page_ids)
            chosen = heapq.nlargest(cap, chosen)
            floor = chosen[-1] if len(chosen) >= cap else -1
            # An author whose full page is above the floor may have more above it.
            pending = {
                author: page_ids[-1]
                for author, page_ids in pages.items()
                if len(page_ids) == per_author and page_ids[-1] > floor
            }
            # Authors still in the running are the prolific ones: read them in bigger pages.
            per_author *= 4
        return chosen

    # -- public and account timelines --------------------------------------------------

    async def public(self, page: Page) -> list[Status]:
        """Public originals from every shard, merged newest first (scatter-gather)."""
        ids = await self._repo.public_page(page)
        chosen = page.select(sorted(ids, reverse=True))
        found = await self._statuses.get_many(chosen)
        return [found[i] for i in chosen if i in found]

    async def account(
        self,
        account_id: int,
        viewer_id: int | None,
        page: Page,
        *,
        exclude_replies: bool = False,
        exclude_reblogs: bool = False,
        tagged: str | None = None,
    ) -> list[Status]:
        """An account's statuses the viewer may see, filtered in the store so that a
        page is never emptied by statuses the viewer cannot see."""
        await self._accounts.require(account_id)
        only = AccountFilter(exclude_replies=exclude_replies, exclude_reblogs=exclude_reblogs)
        if viewer_id != account_id:
            follower = viewer_id is not None and await self._follows.is_following(viewer_id, account_id)
            listed = ("public", "unlisted", "private") if follower else ("public", "unlisted")
            # Mentioned accounts also see private and direct statuses.
            only = AccountFilter(listed, viewer_id, exclude_replies, exclude_reblogs)
        if tagged:
            tag = tagged.lower()
            if not TAG_NAME_RE.fullmatch(tag):
                return []  # no status can carry it (Mastodon: an unknown tag matches nothing)
            only = AccountFilter(only.visibilities, only.mentioned, exclude_replies, exclude_reblogs, tag)
        ids = await self._repo.account_page(account_id, page, only)
        found = await self._statuses.get_many(ids)
        statuses = await self._statuses.visible_to([found[i] for i in ids if i in found], viewer_id)
        return sorted(statuses, key=lambda s: s.id, reverse=True)
