"""The fanout worker: pushes each new status into its audience's home timelines.

Hybrid fanout: an author at or above the celebrity threshold is not fanned
out to followers; readers merge such authors' recent statuses at read time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from roost.ports.log import Record
from roost.ports.timelines import TimelineStore
from roost.services.accounts import AccountsService, FollowsService
from roost.services.timelines import TimelinesService, home_key

# Statuses pulled into a home timeline when a follow starts (Mastodon: MAX_ITEMS / 4).
MERGE_ON_FOLLOW = 200


class FanoutWorker:
    group = "fanout"

    def __init__(
        self,
        store: TimelineStore,
        accounts: AccountsService,
        follows: FollowsService,
        timelines: TimelinesService,
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._follows = follows
        self._timelines = timelines
        self.delivered = 0

    async def handle(self, record: Record) -> None:
        event = record.event
        kind = event["type"]
        if kind == "status.created":
            async for audience in self._audience(event):
                await self._store.push_many((home_key(a), event["status_id"]) for a in audience)
                self.delivered += len(audience)
        elif kind == "status.deleted":
            async for audience in self._audience(event, deleting=True):
                await self._store.remove_many((home_key(a), event["status_id"]) for a in audience)
        elif kind == "follow.created":
            follower, followee = event["account_id"], event["target_id"]
            if not await self._follows.is_following(follower, followee):
                return  # unfollowed since; follow.deleted follows in this partition
            # Repairs the followee's half if the follow request died before writing it.
            await self._follows.ensure_follower_side(follower, followee, event["follow_id"])
            # And the request an approval had not yet deleted when it died.
            await self._follows.drop_settled_request(follower, followee)
            if not await self._accounts.is_celebrity(followee):
                ids = await self._timelines.statuses_for_home(follower, [followee])
                await self._store.push_many((home_key(follower), i) for i in ids[:MERGE_ON_FOLLOW])
        elif kind == "follow.deleted":
            follower, followee = event["account_id"], event["target_id"]
            if await self._follows.is_following(follower, followee):
                return  # followed again since
            await self._follows.ensure_follower_side_removed(follower, followee)
            ids = await self._timelines.statuses_for_home(follower, [followee])
            await self._store.remove_many((home_key(follower), i) for i in ids)

        elif kind == "account.demoted":
            await self._backfill(event["account_id"])

    async def _backfill(self, author: int) -> None:
        """An author fell below the celebrity threshold: its recent statuses were only
        merged at read time, so push them into its followers' home timelines now."""
        if await self._accounts.is_celebrity(author):
            return
        recent = (await self._timelines.recent_ids(author))[:MERGE_ON_FOLLOW]
        if not recent:
            return
        async for batch in self._follows.follower_batches(author):
            await self._store.push_many((home_key(f), i) for f in batch for i in recent)

    async def _audience(self, event: dict[str, Any], *, deleting: bool = False) -> AsyncIterator[list[int]]:
        author = event["account_id"]
        mentioned = [int(m) for m in event.get("mention_ids") or []]
        if event["visibility"] == "direct":
            # As Mastodon (FanOutOnWriteService#deliver_to_mentioned_followers!): a direct
            # status enters the home timeline of the mentioned accounts that follow its
            # author, and nobody else's; the others get it through their mention
            # notification. Delivering to non-followers too would depend on whether their
            # home timeline happened to be built, since a rebuild reads followees only.
            # A deletion removes it from every mentioned account's home, wherever it got in.
            receivers = mentioned if deleting else sorted(await self._follows.followers_among(author, mentioned))
            yield [author, *receivers]
            return
        yield [author]
        if await self._accounts.is_celebrity(author):
            return
        async for batch in self._follows.follower_batches(author):
            yield batch
