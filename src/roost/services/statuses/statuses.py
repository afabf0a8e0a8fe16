"""Statuses: posting (with Idempotency-Key), reading with visibility, deleting, threads.

The write path is: validate -> insert on the author's shard together with a
``status.created`` event in the outbox (one transaction) -> relay the event to
the log -> return. Fanout, notifications and indexing consume that log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from roost.domain.content import mentioned_usernames, render
from roost.domain.entities import VISIBILITIES, Identity, Status, ViewerFlags
from roost.domain.ids import now_ms, shard_of
from roost.domain.versions import stamp
from roost.domain.visibility import can_view, needs_relationship
from roost.errors import Forbidden, NotFound, Unprocessable
from roost.ports.database import Row
from roost.services.accounts import AccountsService, FollowsService, OAuthService
from roost.services.cache_aside import get_by_ids, get_or_load
from roost.services.context import Backends
from roost.services.outbox import Outbox
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
_COLUMNS = (
    "id, account_id, text, content, visibility, sensitive, spoiler_text, language, in_reply_to_id,"
    " in_reply_to_account_id, reblog_of_id, mention_ids, tags, application_id, created_at,"
    " favourites_count, reblogs_count, replies_count"
)


def _ids(raw: str) -> tuple[int, ...]:
    return tuple(int(x) for x in raw.split()) if raw else ()


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
        self.links = StatusLinks(backends.db, backends.cache)

    # -- reading ---------------------------------------------------------------------

    def _row_to_status(self, row: Row, app_names: dict[int, tuple[str, str | None]]) -> Status:
        app = app_names.get(row["application_id"]) if row["application_id"] else None
        return Status(
            id=row["id"],
            account_id=row["account_id"],
            text=row["text"],
            content=row["content"],
            visibility=row["visibility"],
            sensitive=bool(row["sensitive"]),
            spoiler_text=row["spoiler_text"],
            language=row["language"],
            in_reply_to_id=row["in_reply_to_id"],
            in_reply_to_account_id=row["in_reply_to_account_id"],
            reblog_of_id=row["reblog_of_id"],
            mention_ids=_ids(row["mention_ids"]),
            tags=tuple(row["tags"].split()) if row["tags"] else (),
            application_name=app[0] if app else None,
            application_website=app[1] if app else None,
            created_at_ms=row["created_at"],
            favourites_count=row["favourites_count"],
            reblogs_count=row["reblogs_count"],
            replies_count=row["replies_count"],
        )

    async def get_many(self, ids: Iterable[int]) -> dict[int, Status]:
        """Statuses by id, cache-aside; misses are batched into one query per shard."""
        return await get_by_ids(self._cache, "s", ids, self._db.shard_map, self._load)

    async def _load(self, physical: int, ids: list[int]) -> dict[int, Status]:
        marks = ",".join("?" * len(ids))
        rows = await self._db.shards[physical].fetch_all(
            f"SELECT {_COLUMNS} FROM statuses WHERE id IN ({marks})", ids
        )
        apps: dict[int, tuple[str, str | None]] = {}
        for app_id in {r["application_id"] for r in rows if r["application_id"]}:
            app = await self._oauth.app_by_id(app_id)
            if app is not None:
                apps[app_id] = (app.name, app.website)
        return {row["id"]: self._row_to_status(row, apps) for row in rows}

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
                rows = await self._db.for_id(author).fetch_all(
                    "SELECT id FROM statuses WHERE account_id = ? AND visibility <> 'direct'"
                    " ORDER BY id DESC LIMIT ?",
                    (author, RECENT_PER_AUTHOR),
                )
                out[author] = fresh[author] = [r["id"] for r in reversed(rows)]
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
        shard = self._db.for_id(viewer_id)
        marks = ",".join("?" * len(status_ids))
        rows = await shard.fetch_all(
            "SELECT 0 AS kind, status_id AS id FROM account_favourites"
            f" WHERE account_id = ? AND status_id IN ({marks})"
            " UNION ALL SELECT 1 AS kind, reblog_of_id AS id FROM statuses"
            f" WHERE account_id = ? AND reblog_of_id IN ({marks})",
            (viewer_id, *status_ids, viewer_id, *status_ids),
        )
        return ViewerFlags(
            frozenset(r["id"] for r in rows if r["kind"] == 0), frozenset(r["id"] for r in rows if r["kind"] == 1)
        )

    async def _load_viewer_sets(self, viewer_id: int) -> ViewerFlags | str:
        shard = self._db.for_id(viewer_id)
        favourited = await shard.fetch_all(
            "SELECT status_id FROM account_favourites WHERE account_id = ? LIMIT ?",
            (viewer_id, VIEWER_SET_LIMIT + 1),
        )
        reblogged = await shard.fetch_all(
            "SELECT reblog_of_id FROM statuses WHERE account_id = ? AND reblog_of_id IS NOT NULL LIMIT ?",
            (viewer_id, VIEWER_SET_LIMIT + 1),
        )
        if len(favourited) > VIEWER_SET_LIMIT or len(reblogged) > VIEWER_SET_LIMIT:
            return _TOO_MANY
        flags = ViewerFlags(
            frozenset(r["status_id"] for r in favourited),
            frozenset(r["reblog_of_id"] for r in reblogged),
        )
        stamp(flags)
        return flags

    async def favourited_ids(self, viewer_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        """Ids of statuses the viewer favourited, newest status first, within the bounds."""
        return await self._viewer_ids(
            "SELECT status_id AS id FROM account_favourites WHERE account_id = ?{} ORDER BY status_id DESC LIMIT ?",
            "status_id", viewer_id, below, above, limit,
        )

    async def reblogged_ids(self, viewer_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        """Ids of statuses the viewer reblogged, newest original first, within the bounds."""
        return await self._viewer_ids(
            "SELECT reblog_of_id AS id FROM statuses WHERE account_id = ? AND reblog_of_id IS NOT NULL{}"
            " ORDER BY reblog_of_id DESC LIMIT ?",
            "reblog_of_id", viewer_id, below, above, limit,
        )

    async def _viewer_ids(
        self, sql: str, column: str, viewer_id: int, below: int | None, above: int | None, limit: int
    ) -> list[int]:
        clauses, params = "", [viewer_id]
        if below is not None:
            clauses += f" AND {column} < ?"
            params.append(below)
        if above is not None:
            clauses += f" AND {column} > ?"
            params.append(above)
        rows = await self._db.for_id(viewer_id).fetch_all(sql.format(clauses), (*params, limit))
        return [r["id"] for r in rows]

    async def public_ids_of(self, account_id: int, below: int | None, limit: int) -> list[int]:
        """An account's public status ids (reblogs included), newest first."""
        rows = await self._db.for_id(account_id).fetch_all(
            "SELECT id FROM statuses WHERE account_id = ? AND visibility = 'public'"
            + (" AND id < ?" if below is not None else "") + " ORDER BY id DESC LIMIT ?",
            (account_id, *([below] if below is not None else []), limit),
        )
        return [r["id"] for r in rows]

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
        await self._insert(status, identity.application_id, idempotency_key)
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
        """Store a status with its event; returns its id, or for a reblog the id of the
        account's existing reblog of the same original if there is one."""
        shard = self._db.for_id(status.id)
        async with shard.transaction() as tx:
            if status.reblog_of_id is not None:
                # Checked under the shard's write lock: two concurrent reblogs of the
                # same status by the same account cannot both be stored.
                existing = await tx.fetch_one(
                    "SELECT id FROM statuses WHERE account_id = ? AND reblog_of_id = ?",
                    (status.account_id, status.reblog_of_id),
                )
                if existing is not None:
                    return int(existing["id"])
            await tx.execute(
                "INSERT INTO statuses (id, account_id, text, content, visibility, sensitive,"
                " spoiler_text, language, in_reply_to_id, in_reply_to_account_id, reblog_of_id,"
                " mention_ids, tags, application_id, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (status.id, status.account_id, status.text, status.content, status.visibility,
                 int(status.sensitive), status.spoiler_text, status.language, status.in_reply_to_id,
                 status.in_reply_to_account_id, status.reblog_of_id,
                 " ".join(map(str, status.mention_ids)), " ".join(status.tags), application_id,
                 status.created_at_ms),
            )
            if idempotency_key:
                await tx.execute(
                    "INSERT INTO idempotency_keys (account_id, key, status_id, created_at)"
                    " VALUES (?, ?, ?, ?) ON CONFLICT (account_id, key) DO UPDATE SET"
                    " status_id = excluded.status_id, created_at = excluded.created_at",
                    (status.account_id, idempotency_key, status.id, status.created_at_ms),
                )
            await self._accounts.bump_in(tx, status.account_id, "statuses_count", 1, last_status=True)
            await self._outbox.stage(tx, status.account_id, created_event(status, reblog_of_account_id))
        # A crash here is what the outbox is for: the event is committed with the row.
        self._b.failpoints.hit("status.after_commit")
        await self._cache.delete_records("recent", status.account_id)
        await self._accounts.counters_changed(status.account_id)
        if status.reblog_of_id is not None:
            await self.forget_viewer_flags(status.account_id)
        await self._outbox.flush(shard)
        return status.id

    async def insert_reblog(self, wrapper: Status, application_id: int | None, original_account_id: int) -> int:
        """Store a reblog's wrapper unless its account already reblogged the original;
        returns the id of the wrapper that is stored."""
        return await self._insert(wrapper, application_id, None, original_account_id)

    async def _idempotent_status(self, account_id: int, key: str) -> Status | None:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT status_id, created_at FROM idempotency_keys WHERE account_id = ? AND key = ?",
            (account_id, key),
        )
        if row is None or row["created_at"] < now_ms() - IDEMPOTENCY_TTL_MS:
            return None
        return (await self.get_many([row["status_id"]])).get(row["status_id"])

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
        async with shard.transaction() as tx:
            removed = await tx.execute("DELETE FROM statuses WHERE id = ?", (status.id,))
            if removed:
                await self._accounts.bump_in(tx, status.account_id, "statuses_count", -1)
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
        await self._accounts.counters_changed(status.account_id)
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
        shard = self._db.for_id(account_id)
        while True:
            rows = await shard.fetch_all(
                "SELECT id FROM statuses WHERE account_id = ? ORDER BY id LIMIT 200", (account_id,)
            )
            if not rows:
                return count
            for status in (await self.get_many([r["id"] for r in rows])).values():
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
                rows = await self._db.for_id(parent_of).fetch_all(
                    "SELECT reply_id FROM status_replies WHERE parent_id = ? ORDER BY reply_id", (parent_of,)
                )
                children.extend(r["reply_id"] for r in rows)
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
