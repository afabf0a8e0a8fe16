"""Home timelines as capped sorted sets in Redis (Twitter kept 800 entries per user).

Members are the status ids as 8-byte big-endian strings, all with score 0: Redis
then orders them bytewise, which is numeric order, and pages are exact BYLEX
ranges. A score of the id itself would not do: scores are doubles, whose 53-bit
mantissa drops the low bits (worker and sequence) of a 64-bit snowflake, so ids
of one millisecond would tie and page bounds would be approximate.

A list exists only once built (a marker key, since an empty sorted set is no key
at all): pushes to an unbuilt list are dropped, and the reader rebuilds it from the
database on a miss, as with the embedded store. Redis keeps acknowledged writes to
its append-only file within ``appendfsync everysec``.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis

from roost.domain.pagination import Page

# Keys and arguments in one script call: bounds each call's size, the rest are pipelined.
_ENTRIES_PER_CALL = 1024
_ID = struct.Struct(">Q")

# KEYS: list1, built1, list2, built2, ...; ARGV: cap, then per list a count and that many
# members. Runs as one unit, so a list never gains entries while it is unbuilt, and each
# list is trimmed to its cap in the same step. Many lists per call: one round trip and one
# script dispatch per batch instead of per follower (one Redis, not Redis Cluster).
_PUSH = """
local cap = tonumber(ARGV[1])
local a = 2
local added = 0
for i = 1, #KEYS, 2 do
  local n = tonumber(ARGV[a])
  a = a + 1
  if redis.call('EXISTS', KEYS[i + 1]) == 1 then
    for j = a, a + n - 1 do
      added = added + redis.call('ZADD', KEYS[i], 0, ARGV[j])
    end
    redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -(cap + 1))
  end
  a = a + n
end
return added
"""


def _pack(item_id: int) -> bytes:
    return _ID.pack(item_id)


def _unpack(member: Any) -> int:
    value: int = _ID.unpack(member)[0]
    return value


class RedisTimelineStore:
    def __init__(self, client: Redis, max_items: int = 800, prefix: str = "roost:tl:") -> None:
        self._redis = client
        self._max_items = max_items
        self._prefix = prefix
        self._push = client.register_script(_PUSH)

    def _list(self, timeline: str) -> str:
        # The hash tag keeps a list and its marker in one slot, should it ever be sharded.
        return f"{self._prefix}{{{timeline}}}"

    def _built(self, timeline: str) -> str:
        return f"{self._prefix}{{{timeline}}}:built"

    async def push_many(self, entries: Iterable[tuple[str, int]]) -> None:
        per_list: dict[str, list[bytes]] = defaultdict(list)
        for timeline, item_id in entries:
            per_list[timeline].append(_pack(item_id))
        if not per_list:
            return
        calls: list[tuple[list[str], list[Any]]] = []
        keys: list[str] = []
        args: list[Any] = [self._max_items]
        for timeline, members in per_list.items():
            keys += (self._list(timeline), self._built(timeline))
            args.append(len(members))
            args += members
            if len(args) >= _ENTRIES_PER_CALL:
                calls.append((keys, args))
                keys, args = [], [self._max_items]
        if keys:
            calls.append((keys, args))
        if len(calls) == 1:
            await self._push(keys=calls[0][0], args=calls[0][1])
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for call_keys, call_args in calls:
                await self._push(keys=call_keys, args=call_args, client=pipe)
            await pipe.execute()

    async def remove_many(self, entries: Iterable[tuple[str, int]]) -> None:
        per_list: dict[str, list[bytes]] = defaultdict(list)
        for timeline, item_id in entries:
            per_list[timeline].append(_pack(item_id))
        if not per_list:
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for timeline, members in per_list.items():
                pipe.zrem(self._list(timeline), *members)
            await pipe.execute()

    async def flush(self) -> None:
        """Nothing is held back: every push and removal was applied when awaited."""

    async def page(self, timeline: str, page: Page) -> list[int]:
        lower, upper = page.lower_bound, page.max_id
        low = b"-" if lower is None else b"(" + _pack(lower)
        high = b"+" if upper is None else b"(" + _pack(upper)
        key = self._list(timeline)
        if page.ascending:
            members = await self._redis.zrange(key, low, high, bylex=True, offset=0, num=page.limit)
            return [_unpack(m) for m in reversed(members)]
        members = await self._redis.zrange(key, high, low, desc=True, bylex=True, offset=0, num=page.limit)
        return [_unpack(m) for m in members]

    async def exists(self, timeline: str) -> bool:
        return bool(await self._redis.exists(self._built(timeline)))

    async def replace(self, timeline: str, ids: Sequence[int]) -> None:
        newest = sorted(set(ids))[-self._max_items :] if self._max_items > 0 else []
        key = self._list(timeline)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            if newest:
                pipe.zadd(key, {_pack(i): 0 for i in newest})
            pipe.set(self._built(timeline), b"1")
            await pipe.execute()

    async def drop(self, timeline: str) -> None:
        """Forget a timeline (as Mastodon does for inactive users); the next read rebuilds it."""
        await self._redis.delete(self._list(timeline), self._built(timeline))

    async def warm(self) -> int:
        """Nothing to do: the lists live in Redis, not in this process."""
        return 0

    async def close(self) -> None:
        """The client belongs to whoever opened it (one client serves every Redis adapter)."""
