"""The follow graph, stored on both sides: 'following' on the follower's shard and
'followers' on the followee's shard, so either direction is a one-shard range scan.

The two sides are written one after the other, each idempotently (follow
again to repair a half-written edge); the follower's side is written first,
so a failure in between never leaves a follower receiving statuses it did not ask for.
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
        if account_id == target_id:
            raise Forbidden("You cannot follow yourself")
        await self._accounts.require(target_id)
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
        return (await self.relationships(account_id, [target_id]))[0]

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
