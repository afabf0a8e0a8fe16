"""The follow graph, stored on both sides: 'following' on the follower's shard and
'followers' on the followee's shard, so either direction is a one-shard range scan.

The two sides are written one after the other, each idempotently (follow
again to repair a half-written edge); the follower's side is written first,
so a failure in between never leaves a follower receiving statuses it did not ask for.

A follow of a locked account is a pending request instead (``follow_requests``,
on the locked account's shard only), never a row in either follow table, so
nothing that reads the graph (fanout, the visibility check, counters) treats a
requester as a follower until the account approves it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable

from roost.domain.entities import Relationship
from roost.domain.ids import shard_of
from roost.domain.pagination import Page
from roost.errors import Forbidden, NotFound
from roost.ports.accounts import Direction, FollowOptions
from roost.services.accounts.accounts import AccountsService
from roost.services.cache_aside import get_or_load
from roost.services.context import Backends
from roost.services.outbox import Outbox


class FollowsService:
    def __init__(self, backends: Backends, accounts: AccountsService, outbox: Outbox) -> None:
        self._b = backends
        self._db = backends.db
        self._cache = backends.cache
        self._accounts = accounts
        self._outbox = outbox
        self._graph = backends.repos.follows
        self._requests = backends.repos.follow_requests

    async def follow(
        self, account_id: int, target_id: int, *, reblogs: bool = True, notify: bool = False
    ) -> Relationship:
        """Follow ``target_id``, or, when it is locked, ask to (a pending request is not a follow)."""
        if account_id == target_id:
            raise Forbidden("You cannot follow yourself")
        target = await self._accounts.require(target_id)
        if target.locked and not await self.is_following(account_id, target_id):
            await self._request(account_id, target_id, reblogs=reblogs, notify=notify)
        else:
            await self._follow(account_id, target_id, reblogs=reblogs, notify=notify)
        return (await self.relationships(account_id, [target_id]))[0]

    async def _follow(self, account_id: int, target_id: int, *, reblogs: bool, notify: bool) -> None:
        written = None
        async with self._db.for_id(account_id).transaction() as tx:
            # One follow per pair rests on the primary key: whoever inserts the row
            # moves the counter and publishes; a follow already there only gets the options.
            follow_id, created = await self._graph.add_following(
                tx, account_id, target_id, self._b.ids.next_id(shard_of(account_id)), FollowOptions(reblogs, notify)
            )
            if created:
                written = await self._accounts.bump_in(tx, account_id, "following_count", 1)
                # The event also repairs the followee's side if we die before writing it.
                await self._outbox.stage(
                    tx, account_id,
                    {"type": "follow.created", "account_id": account_id, "target_id": target_id,
                     "follow_id": follow_id},
                )
        await self._cache.delete(f"fg:{account_id}")
        if created:
            await self._accounts.counters_changed(account_id, written)
        await self.ensure_follower_side(account_id, target_id, follow_id)
        await self._outbox.flush(self._db.for_id(account_id))

    # -- follow requests (locked accounts) ---------------------------------------------

    async def _request(self, account_id: int, target_id: int, *, reblogs: bool, notify: bool) -> None:
        """Record (or update the options of) a pending request on the locked account's shard.

        One row in one transaction with its event, so a crash leaves either the
        request and its notification-to-be, or neither. Asking again is idempotent.
        """
        shard = self._db.for_id(target_id)
        async with shard.transaction() as tx:
            if await self._requests.put(
                tx, target_id, account_id, self._b.ids.next_id(shard_of(target_id)), FollowOptions(reblogs, notify)
            ):
                await self._outbox.stage(
                    tx, account_id,
                    {"type": "follow_request.created", "account_id": account_id, "target_id": target_id},
                )
        await self._outbox.flush(shard)

    async def _drop_request(self, requester_id: int, target_id: int) -> bool:
        """Delete a pending request; its event withdraws the ``follow_request`` notification
        (Mastodon destroys it with the request), in order after the one that created it."""
        shard = self._db.for_id(target_id)
        async with shard.transaction() as tx:
            dropped = await self._requests.remove(tx, target_id, requester_id)
            if dropped:
                await self._outbox.stage(
                    tx, requester_id,
                    {"type": "follow_request.removed", "account_id": requester_id, "target_id": target_id},
                )
        if dropped:
            await self._outbox.flush(shard)
        return dropped

    async def authorize(self, account_id: int, requester_id: int) -> Relationship:
        """Turn ``requester_id``'s pending request to ``account_id`` into a follow.

        The follow is written first (the ordinary, idempotent follow path: its
        event merges the account's recent statuses into the requester's home and
        notifies ``follow``), then the request is deleted. A crash in between leaves
        the follow granted and a stale request, which the fanout worker deletes when
        it handles the follow's event (``drop_settled_request``); it never leaves a
        request answered without the follow.
        """
        await self._accounts.require(requester_id)
        options = await self._requests.options(account_id, requester_id)
        if options is None:
            raise NotFound()
        await self._follow(requester_id, account_id, reblogs=options.show_reblogs, notify=options.notify)
        self._b.failpoints.hit("follow_request.before_delete")
        await self._drop_request(requester_id, account_id)
        return (await self.relationships(account_id, [requester_id]))[0]

    async def drop_settled_request(self, follower_id: int, target_id: int) -> None:
        """Delete a request its author no longer needs because it follows already."""
        await self._drop_request(follower_id, target_id)

    async def reject(self, account_id: int, requester_id: int) -> Relationship:
        await self._accounts.require(requester_id)
        if not await self._drop_request(requester_id, account_id):
            raise NotFound()
        return (await self.relationships(account_id, [requester_id]))[0]

    async def authorize_all(self, account_id: int) -> int:
        """Approve every pending request (Mastodon does this when an account unlocks)."""
        approved = 0
        while True:
            requesters = await self._requests.oldest_requesters(account_id, 100)
            if not requesters:
                return approved
            for requester in requesters:
                try:
                    await self.authorize(account_id, requester)
                    approved += 1
                except NotFound:  # the requester's account is gone
                    await self._drop_request(requester, account_id)

    async def request_page(self, account_id: int, page: Page) -> list[tuple[int, int]]:
        """(cursor, requester id) pairs of the pending requests to an account, newest first."""
        return await self._requests.page(account_id, page)

    async def pending_count(self, account_id: int) -> int:
        return await self._requests.count(account_id)

    async def ensure_follower_side(self, account_id: int, target_id: int, follow_id: int) -> None:
        """Write the followee's half of a follow (idempotent; the counter moves only once)."""
        written = None
        async with self._db.for_id(target_id).transaction() as tx:
            added = await self._graph.add_follower(tx, target_id, account_id, follow_id)
            if added:
                written = await self._accounts.bump_in(tx, target_id, "followers_count", 1)
        if added:
            await self._accounts.counters_changed(target_id, written, followers=True)

    async def ensure_follower_side_removed(self, account_id: int, target_id: int) -> None:
        written = None
        async with self._db.for_id(target_id).transaction() as tx:
            dropped = await self._graph.remove_follower(tx, target_id, account_id)
            if dropped:
                written = await self._accounts.bump_in(tx, target_id, "followers_count", -1)
        if dropped:
            await self._accounts.counters_changed(target_id, written, followers=True)

    async def bulk_follow(self, pairs: list[tuple[int, int]]) -> int:
        """Store many follow edges at once (imports and benchmark seeding).

        Both sides are written, one transaction per shard; no events are
        published (no notifications, no timeline merges: home timelines are
        rebuilt on first read). Call ``AccountsService.recount()`` afterwards.
        """
        edges = [
            (follower, followee, self._b.ids.next_id(shard_of(follower)))
            for follower, followee in pairs
            if follower != followee
        ]
        await self._graph.add_many(edges)
        for follower in {f for f, _ in pairs}:
            await self._cache.delete(f"fg:{follower}")
        return len(edges)

    async def unfollow(self, account_id: int, target_id: int) -> Relationship:
        await self._accounts.require(target_id)
        written = None
        async with self._db.for_id(account_id).transaction() as tx:
            removed = await self._graph.remove_following(tx, account_id, target_id)
            if removed:
                written = await self._accounts.bump_in(tx, account_id, "following_count", -1)
                await self._outbox.stage(
                    tx, account_id,
                    {"type": "follow.deleted", "account_id": account_id, "target_id": target_id},
                )
        await self._cache.delete(f"fg:{account_id}")
        if removed:
            await self._accounts.counters_changed(account_id, written)
        await self.ensure_follower_side_removed(account_id, target_id)
        # Unfollowing a locked account one has only asked to follow withdraws the request.
        await self._drop_request(account_id, target_id)
        await self._outbox.flush(self._db.for_id(account_id))
        return (await self.relationships(account_id, [target_id]))[0]

    async def relationships(self, account_id: int, target_ids: Iterable[int]) -> list[Relationship]:
        targets = list(target_ids)
        following = await self._following_map(account_id)
        followed_by: set[int] = set()
        if targets:
            # Who of them follows me: my own 'followers' side, one shard.
            followed_by = await self._graph.followers_among(account_id, targets)
            requested_by = await self._requests.requesters_among(account_id, targets)
            requested = await self._requests.requested_among(account_id, targets)
        else:
            requested_by, requested = set(), set()
        out = []
        for target in targets:
            options = following.get(target)
            out.append(
                Relationship(
                    id=target,
                    following=options is not None,
                    showing_reblogs=bool(options and options[0]),
                    notifying=bool(options and options[1]),
                    followed_by=target in followed_by,
                    # A stale request left by a crash during authorize is not "requested".
                    requested=options is None and target in requested,
                    requested_by=target in requested_by and target not in followed_by,
                )
            )
        return out

    async def _following_map(self, account_id: int) -> dict[int, tuple[bool, bool]]:
        """followee -> (show_reblogs, notify), cached (as plain tuples): every home read consults it."""
        return await get_or_load(self._cache, f"fg:{account_id}", lambda: self._load_following_map(account_id))

    async def _load_following_map(self, account_id: int) -> dict[int, tuple[bool, bool]]:
        found = await self._graph.following_options(account_id)
        return {target: (o.show_reblogs, o.notify) for target, o in found.items()}

    async def following_ids(self, account_id: int) -> list[int]:
        return list(await self._following_map(account_id))

    async def is_following(self, account_id: int, target_id: int) -> bool:
        return target_id in await self._following_map(account_id)

    async def followers_among(self, account_id: int, candidates: Iterable[int]) -> set[int]:
        """Which of ``candidates`` follow ``account_id`` (its 'followers' side, one shard)."""
        return await self._graph.followers_among(account_id, list(dict.fromkeys(candidates)))

    def follower_batches(self, account_id: int, batch: int = 1000) -> AsyncIterator[list[int]]:
        """Every follower id, in batches, by keyset pagination (for fanout)."""
        return self._graph.follower_batches(account_id, batch)

    async def page(self, account_id: int, direction: str, page: Page) -> list[tuple[int, int]]:
        """(cursor, account id) pairs of followers or following, newest follow first."""
        await self._accounts.require(account_id)
        side: Direction = "followers" if direction == "followers" else "following"
        return await self._graph.page(account_id, side, page)

    async def remove_all(self, account_id: int) -> None:
        """Cut every edge of an account (account deletion)."""
        for target in await self.following_ids(account_id):
            try:
                await self.unfollow(account_id, target)
            except NotFound:
                continue
        async for batch in self.follower_batches(account_id):
            for follower in batch:
                # The edge and the counter in one unit of work: the counter moves only
                # when this call removed the edge.
                written = None
                async with self._db.for_id(follower).transaction() as tx:
                    removed = await self._graph.remove_following(tx, follower, account_id)
                    if removed:
                        written = await self._accounts.bump_in(tx, follower, "following_count", -1)
                if removed:
                    await self._accounts.counters_changed(follower, written)
                await self._cache.delete(f"fg:{follower}")
        await self._graph.remove_all_followers(account_id)
        await self._requests.remove_all_to(account_id)
        await self._requests.remove_all_from(account_id)
