"""Timelines: home (precomputed by fanout, plus a read-time merge of celebrities),
public (local) and account timelines.

A home timeline never joins across shards: its ids come from the timeline
store, filled by the fanout worker, and are hydrated from the cache.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from typing import Any

from roost.domain.content import TAG_NAME_RE
from roost.domain.entities import Status
from roost.domain.pagination import Page
from roost.services.accounts import AccountsService, FollowsService
from roost.services.context import Backends
from roost.services.keyset import keyset
from roost.services.statuses import StatusesService

# Authors per statement when rebuilding a home timeline (SQLite allows 500 compound terms).
_IN_CHUNK = 200


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
        self._accounts = accounts
        self._follows = follows
        self._statuses = statuses
        self.rebuilds = 0

    # -- home ------------------------------------------------------------------------

    async def home(self, viewer_id: int, page: Page) -> list[Status]:
        key = home_key(viewer_id)
        if not await self._store.exists(key):
            await self.rebuild_home(viewer_id)
        ids = await self._store.page(key, page)
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
        authors: list[int] = []
        celebrities: list[int] = []
        merged = await self._accounts.celebrities()
        for followee in await self._follows.following_ids(viewer_id):
            (celebrities if followee in merged else authors).append(followee)
        ids = await self.statuses_for_home(viewer_id, [viewer_id, *authors])
        # A celebrity's direct statuses are fanned out to the followers they mention
        # (the read-time merge carries only non-direct ones), so a rebuild must find them too.
        ids += await self._direct_mentions(viewer_id, celebrities)
        await self._store.replace(home_key(viewer_id), ids)

    async def _direct_mentions(self, viewer_id: int, authors: list[int]) -> list[int]:
        """Direct statuses mentioning ``viewer_id`` among each author's newest statuses
        (as many as a timeline holds, so the scan is bounded for prolific authors)."""
        cap = self._b.settings.timeline_max_items
        found: list[int] = []
        for author in authors:
            rows = await self._db.for_id(author).fetch_all(
                "SELECT id FROM (SELECT id, visibility, mention_ids FROM statuses WHERE account_id = ?"
                " ORDER BY id DESC LIMIT ?) WHERE visibility = 'direct' AND (' ' || mention_ids || ' ') LIKE ?",
                (author, cap, f"% {viewer_id} %"),
            )
            found.extend(r["id"] for r in rows)
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
            pages = await self._author_pages(viewer_id, pending, per_author)
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

    async def _author_pages(
        self, viewer_id: int, authors: dict[int, int | None], limit: int
    ) -> dict[int, list[int]]:
        """Each author's next ``limit`` ids (below the given id), newest first."""
        by_shard: dict[int, list[int]] = {}
        for author in authors:
            by_shard.setdefault(self._db.shard_map.physical_for_id(author), []).append(author)
        pages: dict[int, list[int]] = {}
        mention = f"% {viewer_id} %"
        for physical, batch in by_shard.items():
            for start in range(0, len(batch), _IN_CHUNK):
                parts: list[str] = []
                params: list[Any] = []
                for author in batch[start : start + _IN_CHUNK]:
                    below = authors[author]
                    parts.append(
                        "SELECT * FROM (SELECT account_id, id FROM statuses WHERE account_id = ?"
                        + (" AND id < ?" if below is not None else "")
                        + " AND (visibility <> 'direct' OR account_id = ? OR (' ' || mention_ids || ' ') LIKE ?)"
                        " ORDER BY id DESC LIMIT ?)"
                    )
                    params += [author, *([below] if below is not None else []), viewer_id, mention, limit]
                rows = await self._db.shards[physical].fetch_all(" UNION ALL ".join(parts), params)
                for row in rows:
                    pages.setdefault(row["account_id"], []).append(row["id"])
        return pages

    # -- public and account timelines --------------------------------------------------

    async def public(self, page: Page) -> list[Status]:
        """Public originals from every shard, merged newest first (scatter-gather)."""
        clauses, params = _bounds(page)
        order = "ASC" if page.ascending else "DESC"
        ids: list[int] = []
        for shard in self._db.shards:
            rows = await shard.fetch_all(
                "SELECT id FROM statuses WHERE visibility = 'public' AND reblog_of_id IS NULL"
                f"{clauses} ORDER BY id {order} LIMIT ?",
                (*params, page.limit),
            )
            ids.extend(r["id"] for r in rows)
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
        """An account's statuses the viewer may see, filtered in SQL so that a page
        is never emptied by rows the viewer cannot see."""
        await self._accounts.require(account_id)
        clauses, params = _bounds(page)
        if viewer_id == account_id:
            visible = ""
        else:
            follower = viewer_id is not None and await self._follows.is_following(viewer_id, account_id)
            listed = "visibility IN ('public', 'unlisted', 'private')" if follower else "visibility IN ('public', 'unlisted')"
            if viewer_id is None:
                visible = f" AND {listed}"
            else:
                # Mentioned accounts also see private and direct statuses.
                visible = f" AND ({listed} OR (' ' || mention_ids || ' ') LIKE ?)"
                params.insert(0, f"% {viewer_id} %")
        if exclude_replies:
            # Mastodon keeps self-replies (threads) when excluding replies.
            clauses += " AND (in_reply_to_id IS NULL OR in_reply_to_account_id = account_id)"
        if exclude_reblogs:
            clauses += " AND reblog_of_id IS NULL"
        if tagged:
            tag = tagged.lower()
            if not TAG_NAME_RE.fullmatch(tag):
                return []  # no status can carry it (Mastodon: an unknown tag matches nothing)
            # instr, not LIKE: the tag is matched as a whole word, never as a pattern
            # ("_" and "%" are LIKE wildcards and "_" is part of many tags).
            clauses += " AND instr(' ' || tags || ' ', ?) > 0"
            params.append(f" {tag} ")
        order = "ASC" if page.ascending else "DESC"
        rows = await self._db.for_id(account_id).fetch_all(
            f"SELECT id FROM statuses WHERE account_id = ?{visible}{clauses} ORDER BY id {order} LIMIT ?",
            (account_id, *params, page.limit),
        )
        ids = [r["id"] for r in rows]
        found = await self._statuses.get_many(ids)
        statuses = await self._statuses.visible_to([found[i] for i in ids if i in found], viewer_id)
        return sorted(statuses, key=lambda s: s.id, reverse=True)


def _bounds(page: Page) -> tuple[str, list[Any]]:
    """The page's bounds on ``id`` as a suffix of an existing WHERE clause."""
    clauses, params, _ = keyset(page, "id")
    return "".join(f" AND {c}" for c in clauses), params
