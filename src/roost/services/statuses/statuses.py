"""Statuses: posting (with Idempotency-Key), reading with visibility, deleting, threads.

The write path is: validate -> insert on the author's shard together with a
``status.created`` event in the outbox (one transaction) -> relay the event to
the log -> return. Fanout, notifications and indexing consume that log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any

from roost.domain.content import mentioned_usernames, render
from roost.domain.entities import VISIBILITIES, Identity, Status, ViewerFlags
from roost.domain.ids import now_ms, shard_of
from roost.domain.versions import stamp
from roost.domain.visibility import can_view, needs_relationship
from roost.errors import Forbidden, NotFound, Unprocessable
from roost.services.accounts import AccountsService, FollowsService, OAuthService
from roost.services.cache_aside import get_by_ids, get_or_load
from roost.services.context import Backends
from roost.services.outbox import Outbox
from roost.services.status_counters import counter_policy
from roost.services.statuses.links import StatusLinks
from roost.services.text_input import refuse_nul_in

IDEMPOTENCY_TTL_MS = 60 * 60 * 1000
# Recent statuses kept per author for the read-time merge (Mastodon's feed size).
RECENT_PER_AUTHOR = 800
# Above this many favourites (or reblogs) an account's flags are queried per page instead.
VIEWER_SET_LIMIT = 5000
_TOO_MANY = "too-many"
MAX_CONTEXT_ANCESTORS = 40
MAX_CONTEXT_DESCENDANTS = 60


def created_event(status: Status, reblog_of_account_id: int | None = None) -> dict[str, Any]:
    return {
        "type": "status.created",
        "status_id": status.id,
        "account_id": status.account_id,
        "visibility": status.visibility,
        "mention_ids": list(status.mention_ids),
        "reblog_of_id": status.reblog_of_id,
        "reblog_of_account_id": reblog_of_account_id,
        "in_reply_to_id": status.in_reply_to_id,
    }


class StatusesService:
    def __init__(
        self,
        backends: Backends,
        accounts: AccountsService,
        follows: FollowsService,
        oauth: OAuthService,
        outbox: Outbox,
    ) -> None:
        self._b = backends
        self._db = backends.db
        self._cache = backends.cache
        self._accounts = accounts
        self._follows = follows
        self._oauth = oauth
        self._outbox = outbox
        self._repo = backends.repos.statuses
        # The cache-aside loader of status misses: the repository itself, no wrapper
        # coroutine in between (the home timeline hydrates through it).
        self._load = partial(self._repo.load_on, apps=oauth.app_by_id)
        self.counters = counter_policy(backends)
        self.links = StatusLinks(backends.db, self.counters, backends.repos.thread_links, backends.repos.reblogs)

    # -- reading ---------------------------------------------------------------------

    async def get_many(self, ids: Iterable[int]) -> dict[int, Status]:
        """Statuses by id, cache-aside; misses are batched into one query per shard.
        Their counters as the counter policy has them (write-back: + pending deltas)."""
        found = await get_by_ids(self._cache, "s", ids, self._db.shard_map, self._load)
        return await self.counters.overlay(found)

    async def recent_ascending(self, authors: Iterable[int]) -> dict[int, list[int]]:
        """Each author's recent non-direct status ids, oldest first (the celebrity
        merge reads a page of these by binary search). Cached; dropped on every
        post or delete by the author, so a celebrity's new status shows at once."""
        wanted = authors if isinstance(authors, (list, set, frozenset)) else list(authors)
        out: dict[int, list[int]] = await self._cache.get_records("recent", wanted)
        if len(out) == len(wanted):
            return out
        fresh: dict[int, list[int]] = {}
        for author in wanted:
            if author not in out:
                newest_first = await self._repo.recent_ids(author, RECENT_PER_AUTHOR)
                newest_first.reverse()
                out[author] = fresh[author] = newest_first
        await self._cache.set_records("recent", fresh)
        return out

    async def visible_to(self, statuses: Iterable[Status], viewer_id: int | None) -> list[Status]:
        """Those of ``statuses`` the viewer may see (order kept)."""
        out = []
        following: set[int] | None = None
        for status in statuses:
            if status.visibility == "public" or status.visibility == "unlisted":
                out.append(status)
                continue
            follows_author = False
            if needs_relationship(status, viewer_id):
                if following is None:
                    assert viewer_id is not None
                    following = set(await self._follows.following_ids(viewer_id))
                follows_author = status.account_id in following
            if can_view(status, viewer_id, follows_author):
                out.append(status)
        return out

    async def get_visible(self, status_id: int, viewer_id: int | None) -> Status:
        status = (await self.get_many([status_id])).get(status_id)
        if status is None or not await self.visible_to([status], viewer_id):
            raise NotFound()
        return status

    async def viewer_flags(self, viewer_id: int, statuses: Sequence[Status]) -> ViewerFlags:
        """Sets that tell, for each of ``statuses`` (a reblog by the status it wraps),
        whether the viewer favourited and reblogged it (they may hold other ids too).

        Served from a cached copy of everything the viewer has favourited and
        reblogged, versioned (a page memo compares versions), and no query for a
        timeline page. Very active accounts fall back to one query about these
        statuses (unversioned: never reused).
        """
        sets = await get_or_load(self._cache, f"vf:{viewer_id}", lambda: self._load_viewer_sets(viewer_id))
        if isinstance(sets, ViewerFlags):
            return sets
        status_ids = [s.reblog_of_id or s.id for s in statuses]
        if not status_ids:
            return ViewerFlags(frozenset(), frozenset())
        favourited, reblogged = await self._repo.viewer_flags(viewer_id, status_ids)
        return ViewerFlags(frozenset(favourited), frozenset(reblogged))

    async def _load_viewer_sets(self, viewer_id: int) -> ViewerFlags | str:
        sets = await self._repo.viewer_sets(viewer_id, VIEWER_SET_LIMIT)
        if sets is None:
            return _TOO_MANY
        flags = ViewerFlags(*sets)
        stamp(flags)
        return flags

    async def favourited_ids(self, viewer_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        """Ids of statuses the viewer favourited, newest status first, within the bounds."""
        return await self._b.repos.favourites.status_ids_of(viewer_id, below, above, limit)

    async def reblogged_ids(self, viewer_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        """Ids of statuses the viewer reblogged, newest original first, within the bounds."""
        return await self._repo.reblogged_ids(viewer_id, below, above, limit)

    async def public_ids_of(self, account_id: int, below: int | None, limit: int) -> list[int]:
        """An account's public status ids (reblogs included), newest first."""
        return await self._repo.public_ids_by(account_id, below, limit)

    async def forget_viewer_flags(self, viewer_id: int) -> None:
        await self._cache.delete(f"vf:{viewer_id}")

    # -- posting ---------------------------------------------------------------------

    async def create(
        self,
        identity: Identity,
        text: str,
        *,
        visibility: str = "public",
        sensitive: bool = False,
        spoiler_text: str = "",
        language: str | None = None,
        in_reply_to_id: int | None = None,
        idempotency_key: str | None = None,
    ) -> Status:
        author_id = identity.account_id
        assert author_id is not None
        refuse_nul_in(idempotency_key=idempotency_key)  # a key the store could not hold
        if idempotency_key:
            existing = await self._idempotent_status(author_id, idempotency_key)
            if existing is not None:
                return existing
        text = text or ""
        refuse_nul_in(status=text, spoiler_text=spoiler_text, language=language)
        if not text.strip():
            raise Unprocessable("Validation failed: Text can't be blank")
        limit = self._b.settings.max_status_chars
        if len(text) + len(spoiler_text) > limit:
            raise Unprocessable(f"Validation failed: Text character limit of {limit} exceeded")
        if visibility not in VISIBILITIES:
            raise Unprocessable("Validation failed: Visibility is not included in the list")
        if language is not None and (not language.isalpha() or len(language) > 8):
            raise Unprocessable("Validation failed: Language is not a valid language code")
        parent: Status | None = None
        if in_reply_to_id is not None:
            parent = await self.get_visible(in_reply_to_id, author_id)

        settings = self._b.settings
        known: dict[str, int] = {}

        def resolve(username: str) -> str | None:
            return f"{settings.base_url}/@{username}" if username in known else None

        # Resolve mentions first (I/O), then render with the names that exist.
        for username in mentioned_usernames(text, settings.instance_domain):
            try:
                known[username] = (await self._accounts.lookup(username)).id
            except NotFound:
                continue
        rendered = render(text, settings.base_url, settings.instance_domain, resolve)
        mention_ids = tuple(known[name] for name in rendered.mentions if known[name] != author_id)

        status = Status(
            id=self._b.ids.next_id(shard_of(author_id)),
            account_id=author_id,
            text=text,
            content=rendered.html,
            visibility=visibility,
            sensitive=sensitive or bool(spoiler_text),
            spoiler_text=spoiler_text,
            language=language,
            in_reply_to_id=parent.id if parent else None,
            in_reply_to_account_id=parent.account_id if parent else None,
            mention_ids=mention_ids,
            tags=tuple(rendered.tags),
            created_at_ms=now_ms(),
        )
        stored = await self._insert(status, identity.application_id, idempotency_key)
        if stored != status.id:
            # The same Idempotency-Key won a race with this request: answer with its status.
            return (await self.get_many([stored]))[stored]
        if parent is not None:
            # The thread lives on the parent's shard; the relations worker links it
            # again from the log if a crash falls here.
            self._b.failpoints.hit("reply.before_link")
            await self.links.link_reply(parent.id, status.id)
        return (await self.get_many([status.id]))[status.id]

    async def _insert(
        self, status: Status, application_id: int | None, idempotency_key: str | None,
        reblog_of_account_id: int | None = None,
    ) -> int:
        """Store a status with its event; returns its id, or the id of the status that
        already holds its place: the one its Idempotency-Key is bound to, or for a
        reblog the account's existing reblog of the same original (the store's
        constraints decide, so racing requests in any number of processes agree)."""
        shard = self._db.for_id(status.id)
        written = None
        async with shard.transaction() as tx:
            if idempotency_key:
                holder = await self._repo.claim_idempotency_key(
                    tx, status.account_id, idempotency_key, status.id, status.created_at_ms,
                    status.created_at_ms - IDEMPOTENCY_TTL_MS,
                )
                if holder is not None:
                    return holder
            stored = await self._repo.insert(tx, status, application_id)
            if stored != status.id:
                return stored
            written = await self._accounts.bump_in(tx, status.account_id, "statuses_count", 1, last_status=True)
            await self._outbox.stage(tx, status.account_id, created_event(status, reblog_of_account_id))
        # A crash here is what the outbox is for: the event is committed with the row.
        self._b.failpoints.hit("status.after_commit")
        await self._cache.delete_records("recent", status.account_id)
        await self._accounts.counters_changed(status.account_id, written)
        if status.reblog_of_id is not None:
            await self.forget_viewer_flags(status.account_id)
        await self._outbox.flush(shard)
        return status.id

    async def insert_reblog(self, wrapper: Status, application_id: int | None, original_account_id: int) -> int:
        """Store a reblog's wrapper unless its account already reblogged the original;
        returns the id of the wrapper that is stored."""
        return await self._insert(wrapper, application_id, None, original_account_id)

    async def _idempotent_status(self, account_id: int, key: str) -> Status | None:
        status_id = await self._repo.idempotent_status_id(account_id, key, now_ms() - IDEMPOTENCY_TTL_MS)
        if status_id is None:
            return None
        return (await self.get_many([status_id])).get(status_id)

    # -- deleting --------------------------------------------------------------------

    async def delete(self, identity: Identity, status_id: int) -> Status:
        status = await self.get_visible(status_id, identity.account_id)
        if status.account_id != identity.account_id:
            raise Forbidden()
        await self.remove(status)
        return status

    async def remove(self, status: Status) -> None:
        """Delete a status (no permission check: the caller decides), its event, and its
        second halves on other shards."""
        shard = self._db.for_id(status.id)
        written = None
        async with shard.transaction() as tx:
            removed = await self._repo.delete(tx, status.id)
            if removed:
                written = await self._accounts.bump_in(tx, status.account_id, "statuses_count", -1)
                await self._outbox.stage(
                    tx, status.account_id,
                    {"type": "status.deleted", "status_id": status.id, "account_id": status.account_id,
                     "visibility": status.visibility, "mention_ids": list(status.mention_ids),
                     "reblog_of_id": status.reblog_of_id, "in_reply_to_id": status.in_reply_to_id},
                )
        await self._cache.delete_records("s", status.id)
        await self._cache.delete_records("recent", status.account_id)
        if not removed:
            return
        await self._accounts.counters_changed(status.account_id, written)
        await self._outbox.flush(shard)
        # The other halves, on other shards: the relations worker repeats these from
        # the status.deleted event if a crash falls here.
        self._b.failpoints.hit("status.before_unlink")
        await self.unlink(status.id, status.account_id, status.in_reply_to_id, status.reblog_of_id)

    async def unlink(
        self, status_id: int, account_id: int, in_reply_to_id: int | None, reblog_of_id: int | None
    ) -> None:
        """Remove a deleted status from its parent's thread and its original's reblogs,
        and remove the reblogs of a deleted original (as Mastodon does). Idempotent."""
        if in_reply_to_id is not None:
            await self.links.unlink_reply(in_reply_to_id, status_id)
        if reblog_of_id is not None:
            await self.forget_viewer_flags(account_id)
            await self.links.unlink_reblog(reblog_of_id, account_id, status_id)
        else:
            wrappers = await self.get_many(await self.links.reblog_wrappers(status_id))
            for wrapper in wrappers.values():
                await self.remove(wrapper)

    async def delete_all_by(self, account_id: int) -> int:
        """Remove every status of an account (account deletion)."""
        count = 0
        while True:
            ids = await self._repo.oldest_ids_by(account_id, 200)
            if not ids:
                return count
            for status in (await self.get_many(ids)).values():
                await self.remove(status)
                count += 1

    # -- threads ---------------------------------------------------------------------

    async def context(self, status_id: int, viewer_id: int | None) -> tuple[list[Status], list[Status]]:
        status = await self.get_visible(status_id, viewer_id)
        ancestors: list[Status] = []
        parent_id = status.in_reply_to_id
        while parent_id is not None and len(ancestors) < MAX_CONTEXT_ANCESTORS:
            parent = (await self.get_many([parent_id])).get(parent_id)
            if parent is None:
                break
            ancestors.append(parent)
            parent_id = parent.in_reply_to_id
        ancestors.reverse()
        descendants: list[Status] = []
        frontier = [status.id]
        depth = 0
        while frontier and depth < 20 and len(descendants) < MAX_CONTEXT_DESCENDANTS:
            children: list[int] = []
            for parent_of in frontier:
                children.extend(await self.links.replies(parent_of))
            found = await self.get_many(children)
            level = [found[i] for i in children if i in found]
            descendants.extend(level)
            frontier = [s.id for s in level]
            depth += 1
        descendants.sort(key=lambda s: s.id)
        return (
            await self.visible_to(ancestors, viewer_id),
            (await self.visible_to(descendants, viewer_id))[:MAX_CONTEXT_DESCENDANTS],
        )
