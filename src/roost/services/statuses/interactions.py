"""Favourites and reblogs, each stored on both sides (the status's shard and the actor's)."""

from __future__ import annotations

from roost.domain.entities import Identity, Status
from roost.domain.ids import now_ms, shard_of
from roost.domain.pagination import Page
from roost.errors import Forbidden
from roost.ports.database import Shard
from roost.services.context import Backends
from roost.services.outbox import Outbox
from roost.services.statuses.statuses import StatusesService


class InteractionsService:
    def __init__(self, backends: Backends, statuses: StatusesService, outbox: Outbox) -> None:
        self._b = backends
        self._db = backends.db
        self._cache = backends.cache
        self._statuses = statuses
        self._outbox = outbox
        self._favourites = backends.repos.favourites
        self._reblogs = backends.repos.reblogs

    async def favourite(self, identity: Identity, status_id: int) -> Status:
        actor = identity.account_id
        assert actor is not None
        status = await self._statuses.get_visible(status_id, actor)
        shard = self._db.for_id(status.id)
        async with shard.transaction() as tx:
            added = await self._favourites.add(tx, status.id, actor, self._b.ids.next_id(shard_of(actor)),
                                               count=self._statuses.counters.in_transaction)
            if added:
                await self._outbox.stage(
                    tx, actor,
                    {"type": "favourite.created", "account_id": actor, "status_id": status.id,
                     "status_account_id": status.account_id},
                )
        await self._finish_favourite(actor, status.id, shard, added, 1)
        return await self._statuses.get_visible(status.id, actor)

    async def unfavourite(self, identity: Identity, status_id: int) -> Status:
        actor = identity.account_id
        assert actor is not None
        status = await self._statuses.get_visible(status_id, actor)
        shard = self._db.for_id(status.id)
        async with shard.transaction() as tx:
            removed = await self._favourites.remove(tx, status.id, actor,
                                                    count=self._statuses.counters.in_transaction)
            if removed:
                await self._outbox.stage(
                    tx, actor, {"type": "favourite.deleted", "account_id": actor, "status_id": status.id},
                )
        await self._finish_favourite(actor, status.id, shard, removed, -1)
        return await self._statuses.get_visible(status.id, actor)

    async def _finish_favourite(self, actor: int, status_id: int, shard: Shard, changed: bool, delta: int) -> None:
        """After the status-side transaction: the counter, the favouriter's half, then the event."""
        if changed:
            await self._statuses.counters.changed(status_id, "favourites_count", delta)
            # The favouriter's half lives on its own shard; the relations worker
            # reconciles it from the event if a crash falls here.
            self._b.failpoints.hit("favourite.before_account_side")
        await self.reconcile_favourite(actor, status_id)
        if changed:
            await self._outbox.flush(shard)

    async def reconcile_favourite(self, actor: int, status_id: int) -> None:
        """Make the favouriter's half (``account_favourites``, which feeds its
        favourites list and flags) match the status's half, the source of truth."""
        favourite_id = await self._favourites.favourite_id(status_id, actor)
        async with self._db.for_id(actor).transaction() as tx:
            if favourite_id is not None:
                await self._favourites.record_account_side(tx, actor, status_id, favourite_id)
            else:
                await self._favourites.forget_account_side(tx, actor, status_id)
        await self._statuses.forget_viewer_flags(actor)

    async def reblog(self, identity: Identity, status_id: int, visibility: str = "public") -> Status:
        actor = identity.account_id
        assert actor is not None
        original = await self._statuses.get_visible(status_id, actor)
        if original.reblog_of_id is not None:
            original = await self._statuses.get_visible(original.reblog_of_id, actor)
        own_private = original.visibility == "private" and original.account_id == actor
        if original.visibility not in ("public", "unlisted") and not own_private:
            raise Forbidden("This action is not allowed")
        if own_private:
            visibility = "private"  # as in Mastodon: an author may boost to its own followers
        elif visibility not in ("public", "unlisted", "private"):
            visibility = "public"
        wrapper = Status(
            id=self._b.ids.next_id(shard_of(actor)),
            account_id=actor,
            text="",
            content="",
            visibility=visibility,
            reblog_of_id=original.id,
            created_at_ms=now_ms(),
        )
        # The wrapper (with its status.created event) first: the reblogger list on the
        # original's shard is then linked here, or from that event after a crash.
        stored = await self._statuses.insert_reblog(wrapper, identity.application_id, original.account_id)
        self._b.failpoints.hit("reblog.before_link")
        await self._statuses.links.link_reblog(original.id, actor, stored)
        return (await self._statuses.get_many([stored]))[stored]

    async def unreblog(self, identity: Identity, status_id: int) -> Status:
        actor = identity.account_id
        assert actor is not None
        original = await self._statuses.get_visible(status_id, actor)
        wrapper_id = await self._b.repos.statuses.reblog_of(actor, original.id)
        if wrapper_id is not None:
            wrapper = (await self._statuses.get_many([wrapper_id])).get(wrapper_id)
            if wrapper is not None:
                await self._statuses.remove(wrapper)
        return await self._statuses.get_visible(original.id, actor)

    async def favourited_by(self, status_id: int, viewer_id: int | None, page: Page) -> list[tuple[int, int]]:
        await self._statuses.get_visible(status_id, viewer_id)
        return await self._favourites.page(status_id, page)

    async def reblogged_by(self, status_id: int, viewer_id: int | None, page: Page) -> list[tuple[int, int]]:
        await self._statuses.get_visible(status_id, viewer_id)
        return await self._reblogs.page(status_id, page)

    async def favourites_of(self, account_id: int, page: Page) -> list[tuple[int, int]]:
        """(cursor, status id) pairs of what ``account_id`` favourited, newest first."""
        return await self._favourites.account_page(account_id, page)
