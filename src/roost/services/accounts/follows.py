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
from roost.services.accounts.accounts import AccountsService
from roost.services.batches import execute_per_shard
from roost.services.cache_aside import get_or_load
from roost.services.context import Backends
from roost.services.keyset import pairs_page
from roost.services.outbox import Outbox


class FollowsService:
    def __init__(self, backends: Backends, accounts: AccountsService, outbox: Outbox) -> None:
        self._b = backends
        self._db = backends.db
        self._cache = backends.cache
        self._accounts = accounts
        self._outbox = outbox

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
        follow_id = self._b.ids.next_id(shard_of(account_id))
        created = False
        async with self._db.for_id(account_id).transaction() as tx:
            existing = await tx.fetch_one(
                "SELECT follow_id FROM following WHERE account_id = ? AND target_id = ?",
                (account_id, target_id),
            )
            if existing is None:
                await tx.execute(
                    "INSERT INTO following (account_id, target_id, follow_id, show_reblogs, notify)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (account_id, target_id, follow_id, int(reblogs), int(notify)),
                )
                await self._accounts.bump_in(tx, account_id, "following_count", 1)
                created = True
                # The event also repairs the followee's side if we die before writing it.
                await self._outbox.stage(
                    tx, account_id,
                    {"type": "follow.created", "account_id": account_id, "target_id": target_id,
                     "follow_id": follow_id},
                )
            else:
                follow_id = existing["follow_id"]
                await tx.execute(
                    "UPDATE following SET show_reblogs = ?, notify = ? WHERE account_id = ? AND target_id = ?",
                    (int(reblogs), int(notify), account_id, target_id),
                )
        await self._cache.delete(f"fg:{account_id}")
        if created:
            await self._accounts.counters_changed(account_id)
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
            updated = await tx.execute(
                "UPDATE follow_requests SET show_reblogs = ?, notify = ? WHERE account_id = ? AND requester_id = ?",
                (int(reblogs), int(notify), target_id, account_id),
            )
            if not updated:
                await tx.execute(
                    "INSERT INTO follow_requests (account_id, requester_id, request_id, show_reblogs, notify)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (target_id, account_id, self._b.ids.next_id(shard_of(target_id)), int(reblogs), int(notify)),
                )
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
            dropped = await tx.execute(
                "DELETE FROM follow_requests WHERE account_id = ? AND requester_id = ?", (target_id, requester_id)
            )
            if dropped:
                await self._outbox.stage(
                    tx, requester_id,
                    {"type": "follow_request.removed", "account_id": requester_id, "target_id": target_id},
                )
        if dropped:
            await self._outbox.flush(shard)
        return bool(dropped)

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
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT show_reblogs, notify FROM follow_requests WHERE account_id = ? AND requester_id = ?",
            (account_id, requester_id),
        )
        if row is None:
            raise NotFound()
        await self._follow(requester_id, account_id, reblogs=bool(row["show_reblogs"]), notify=bool(row["notify"]))
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
            rows = await self._db.for_id(account_id).fetch_all(
                "SELECT requester_id FROM follow_requests WHERE account_id = ? ORDER BY request_id LIMIT 100",
                (account_id,),
            )
            if not rows:
                return approved
            for row in rows:
                try:
                    await self.authorize(account_id, row["requester_id"])
                    approved += 1
                except NotFound:  # the requester's account is gone
                    await self._drop_request(row["requester_id"], account_id)

    async def request_page(self, account_id: int, page: Page) -> list[tuple[int, int]]:
        """(cursor, requester id) pairs of the pending requests to an account, newest first."""
        return await pairs_page(
            self._db.for_id(account_id), "follow_requests", "account_id", account_id, "request_id",
            "requester_id", page,
        )

    async def pending_count(self, account_id: int) -> int:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT COUNT(*) AS n FROM follow_requests WHERE account_id = ?", (account_id,)
        )
        return int(row["n"]) if row else 0

    async def _requested(self, account_id: int, targets: list[int]) -> set[int]:
        """Which of ``targets`` have a pending request from ``account_id`` (each on its own shard)."""
        by_shard: dict[int, list[int]] = {}
        for target in targets:
            by_shard.setdefault(self._db.shard_map.physical_for_id(target), []).append(target)
        found: set[int] = set()
        for physical, batch in by_shard.items():
            marks = ",".join("?" * len(batch))
            rows = await self._db.shards[physical].fetch_all(
                f"SELECT account_id FROM follow_requests WHERE requester_id = ? AND account_id IN ({marks})",
                (account_id, *batch),
            )
            found.update(r["account_id"] for r in rows)
        return found

    async def ensure_follower_side(self, account_id: int, target_id: int, follow_id: int) -> None:
        """Write the followee's half of a follow (idempotent; the counter moves only once)."""
        async with self._db.for_id(target_id).transaction() as tx:
            added = await tx.execute(
                "INSERT INTO followers (account_id, follower_id, follow_id) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (target_id, account_id, follow_id),
            )
            if added:
                await self._accounts.bump_in(tx, target_id, "followers_count", 1)
        if added:
            await self._accounts.counters_changed(target_id, followers=True)

    async def ensure_follower_side_removed(self, account_id: int, target_id: int) -> None:
        async with self._db.for_id(target_id).transaction() as tx:
            dropped = await tx.execute(
                "DELETE FROM followers WHERE account_id = ? AND follower_id = ?", (target_id, account_id)
            )
            if dropped:
                await self._accounts.bump_in(tx, target_id, "followers_count", -1)
        if dropped:
            await self._accounts.counters_changed(target_id, followers=True)

    async def bulk_follow(self, pairs: list[tuple[int, int]]) -> int:
        """Store many follow edges at once (imports and benchmark seeding).

        Both sides are written, one transaction per shard; no events are
        published (no notifications, no timeline merges: home timelines are
        rebuilt on first read). Call ``AccountsService.recount()`` afterwards.
        """
        following: dict[int, list[tuple[int, int, int]]] = {}
        followers: dict[int, list[tuple[int, int, int]]] = {}
        shard_map = self._db.shard_map
        for follower, followee in pairs:
            if follower == followee:
                continue
            follow_id = self._b.ids.next_id(shard_of(follower))
            following.setdefault(shard_map.physical_for_id(follower), []).append((follower, followee, follow_id))
            followers.setdefault(shard_map.physical_for_id(followee), []).append((followee, follower, follow_id))
        await execute_per_shard(
            self._db,
            "INSERT INTO following (account_id, target_id, follow_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            following,
        )
        await execute_per_shard(
            self._db,
            "INSERT INTO followers (account_id, follower_id, follow_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            followers,
        )
        for follower in {f for f, _ in pairs}:
            await self._cache.delete(f"fg:{follower}")
        return sum(len(b) for b in following.values())

    async def unfollow(self, account_id: int, target_id: int) -> Relationship:
        await self._accounts.require(target_id)
        async with self._db.for_id(account_id).transaction() as tx:
            removed = await tx.execute(
                "DELETE FROM following WHERE account_id = ? AND target_id = ?", (account_id, target_id)
            )
            if removed:
                await self._accounts.bump_in(tx, account_id, "following_count", -1)
                await self._outbox.stage(
                    tx, account_id,
                    {"type": "follow.deleted", "account_id": account_id, "target_id": target_id},
                )
        await self._cache.delete(f"fg:{account_id}")
        if removed:
            await self._accounts.counters_changed(account_id)
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
            marks = ",".join("?" * len(targets))
            rows = await self._db.for_id(account_id).fetch_all(
                f"SELECT follower_id FROM followers WHERE account_id = ? AND follower_id IN ({marks})",
                (account_id, *targets),
            )
            followed_by.update(r["follower_id"] for r in rows)
            rows = await self._db.for_id(account_id).fetch_all(
                f"SELECT requester_id FROM follow_requests WHERE account_id = ? AND requester_id IN ({marks})",
                (account_id, *targets),
            )
            requested_by = {r["requester_id"] for r in rows}
            requested = await self._requested(account_id, targets)
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
        """followee -> (show_reblogs, notify), cached: every home read consults it."""
        return await get_or_load(self._cache, f"fg:{account_id}", lambda: self._load_following_map(account_id))

    async def _load_following_map(self, account_id: int) -> dict[int, tuple[bool, bool]]:
        rows = await self._db.for_id(account_id).fetch_all(
            "SELECT target_id, show_reblogs, notify FROM following WHERE account_id = ?", (account_id,)
        )
        return {r["target_id"]: (bool(r["show_reblogs"]), bool(r["notify"])) for r in rows}

    async def following_ids(self, account_id: int) -> list[int]:
        return list(await self._following_map(account_id))

    async def is_following(self, account_id: int, target_id: int) -> bool:
        return target_id in await self._following_map(account_id)

    async def followers_among(self, account_id: int, candidates: Iterable[int]) -> set[int]:
        """Which of ``candidates`` follow ``account_id`` (its 'followers' side, one shard)."""
        wanted = list(dict.fromkeys(candidates))
        if not wanted:
            return set()
        marks = ",".join("?" * len(wanted))
        rows = await self._db.for_id(account_id).fetch_all(
            f"SELECT follower_id FROM followers WHERE account_id = ? AND follower_id IN ({marks})",
            (account_id, *wanted),
        )
        return {r["follower_id"] for r in rows}

    async def follower_batches(self, account_id: int, batch: int = 1000) -> AsyncIterator[list[int]]:
        """Every follower id, in batches, by keyset pagination (for fanout)."""
        shard = self._db.for_id(account_id)
        after = -1
        while True:
            rows = await shard.fetch_all(
                "SELECT follower_id, follow_id FROM followers WHERE account_id = ? AND follow_id > ?"
                " ORDER BY follow_id LIMIT ?",
                (account_id, after, batch),
            )
            if not rows:
                return
            yield [r["follower_id"] for r in rows]
            after = rows[-1]["follow_id"]

    async def page(self, account_id: int, direction: str, page: Page) -> list[tuple[int, int]]:
        """(cursor, account id) pairs of followers or following, newest follow first."""
        await self._accounts.require(account_id)
        table, column = ("followers", "follower_id") if direction == "followers" else ("following", "target_id")
        return await pairs_page(
            self._db.for_id(account_id), table, "account_id", account_id, "follow_id", column, page
        )

    async def remove_all(self, account_id: int) -> None:
        """Cut every edge of an account (account deletion)."""
        for target in await self.following_ids(account_id):
            try:
                await self.unfollow(account_id, target)
            except NotFound:
                continue
        async for batch in self.follower_batches(account_id):
            for follower in batch:
                await self._db.for_id(follower).execute(
                    "DELETE FROM following WHERE account_id = ? AND target_id = ?", (follower, account_id)
                )
                await self._accounts.bump(follower, "following_count", -1)
                await self._cache.delete(f"fg:{follower}")
        await self._db.for_id(account_id).execute("DELETE FROM followers WHERE account_id = ?", (account_id,))
        await self._db.for_id(account_id).execute("DELETE FROM follow_requests WHERE account_id = ?", (account_id,))
        for shard in self._db.shards:
            await shard.execute("DELETE FROM follow_requests WHERE requester_id = ?", (account_id,))
