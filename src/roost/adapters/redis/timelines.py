"""Home timelines as capped sorted sets in Redis (Twitter kept 800 entries per user).

Members are the status ids as 8-byte big-endian strings, all with score 0: Redis
then orders them bytewise, which is numeric order, and pages are exact BYLEX
ranges. A score of the id itself would not do: scores are doubles, whose 53-bit
mantissa drops the low bits (worker and sequence) of a 64-bit snowflake, so ids
of one millisecond would tie and page bounds would be approximate.

A list exists only once built: its sorted set then holds an empty-string member
besides the ids (the first in byte order), so even an empty built list is a key.
Pushes to a list that is not there are dropped, and the reader rebuilds it from the
database on a miss, as with the embedded store. Redis keeps acknowledged writes to
its append-only file within ``appendfsync everysec``.

While Redis does not answer, every call raises ``Unavailable`` (503, Retry-After): the
timelines service then reads home pages from the database, and the fanout consumer
retries its record (with backoff, workers/consumer.py) until Redis is back, so no
delivery is lost; a list Redis lost altogether is a miss, rebuilt on its next read.
"""

from __future__ import annotations

import struct
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from redis.asyncio import Redis

from roost.adapters.redis.outage import Outage
from roost.domain.pagination import Page

# Entries per script call: bounds each call's size; the calls of one batch are pipelined.
_ENTRIES_PER_CALL = 4096
_ID = struct.Struct(">Q")
_COUNT = struct.Struct(">I")
_BUILT = b""  # the marker member; ids are 8 bytes, so it sorts (and trims) apart
_ABOVE_MARKER = b"("  # the lexicographic bound "anything above the empty string"

# ARGV: the cap; the lists' keys, newline-separated; their new ids, 8 bytes each, end
# to end; and how many ids each list gets (4 bytes each). Four arguments however many
# lists: redis-py packs a command in Python at about 3 us per argument, which cost
# more than Redis spent on the inserts. One unit per call, so a list never gains
# entries while it is unbuilt, and each list is trimmed to its cap (rank 0, the marker,
# is kept) in the same step. The keys are not declared as KEYS, hence no-cluster: one
# Redis (the cluster shape's), not Redis Cluster.
_PUSH = """#!lua flags=no-cluster
local cap = tonumber(ARGV[1])
local ids, counts = ARGV[3], ARGV[4]
local added, at, n = 0, 1, 0
for key in string.gmatch(ARGV[2], "[^\\n]+") do
  n = n + 1
  local count = struct.unpack(">I4", counts, 4 * n - 3)
  if redis.call('EXISTS', key) == 1 then
    for j = at, at + 8 * count - 1, 8 do
      added = added + redis.call('ZADD', key, 0, string.sub(ids, j, j + 7))
    end
    redis.call('ZREMRANGEBYRANK', key, 1, -(cap + 1))
  end
  at = at + 8 * count
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
        self._outage = Outage("home timeline store")

    def _list(self, timeline: str) -> str:
        return f"{self._prefix}{timeline}"

    async def _push_many(self, entries: Iterable[tuple[str, int]]) -> None:
        per_list: dict[str, bytearray] = defaultdict(bytearray)
        for timeline, item_id in entries:
            per_list[timeline] += _pack(item_id)
        if not per_list:
            return
        calls: list[list[Any]] = []
        keys: list[str] = []
        ids, counts = bytearray(), bytearray()
        for timeline, packed in per_list.items():
            if "\n" in timeline:
                raise ValueError(f"timeline name {timeline!r} has a newline")
            keys.append(self._list(timeline))
            ids += packed
            counts += _COUNT.pack(len(packed) // 8)
            if len(ids) >= 8 * _ENTRIES_PER_CALL:
                calls.append([self._max_items, "\n".join(keys), bytes(ids), bytes(counts)])
                keys, ids, counts = [], bytearray(), bytearray()
        if keys:
            calls.append([self._max_items, "\n".join(keys), bytes(ids), bytes(counts)])
        if len(calls) == 1:
            await self._push(args=calls[0])
            return
        async with self._redis.pipeline(transaction=False) as pipe:
            for args in calls:
                await self._push(args=args, client=pipe)
            await pipe.execute()

    async def _remove_many(self, entries: Iterable[tuple[str, int]]) -> None:
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

    async def _page(self, timeline: str, page: Page) -> list[int]:
        return _ids(page, await self._select(self._redis, timeline, page))

    async def _page_if_built(self, timeline: str, page: Page) -> list[int] | None:
        # EXISTS and the range in one round trip (pipelined, not a transaction: a list
        # dropped between the two reads an empty page once, and the next read rebuilds).
        async with self._redis.pipeline(transaction=False) as pipe:
            pipe.exists(self._list(timeline))
            self._select(pipe, timeline, page)  # queued; the pipeline returns it
            built, members = await pipe.execute()
        return _ids(page, members) if built else None

    def _select(self, client: Any, timeline: str, page: Page) -> Any:
        """The ZRANGE of ``page`` on ``client`` (the connection, or a pipeline that queues it)."""
        lower, upper = page.lower_bound, page.max_id
        low = _ABOVE_MARKER if lower is None else b"(" + _pack(lower)
        high = b"+" if upper is None else b"(" + _pack(upper)
        key = self._list(timeline)
        if page.ascending:
            return client.zrange(key, low, high, bylex=True, offset=0, num=page.limit)
        return client.zrange(key, high, low, desc=True, bylex=True, offset=0, num=page.limit)

    async def _exists(self, timeline: str) -> bool:
        return bool(await self._redis.exists(self._list(timeline)))

    async def _replace(self, timeline: str, ids: Sequence[int]) -> None:
        newest = sorted(set(ids))[-self._max_items :] if self._max_items > 0 else []
        key = self._list(timeline)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.zadd(key, {_BUILT: 0, **{_pack(i): 0 for i in newest}})
            await pipe.execute()

    async def _drop(self, timeline: str) -> None:
        await self._redis.delete(self._list(timeline))

    async def push_many(self, entries: Iterable[tuple[str, int]]) -> None:
        await self._outage.required("push", self._push_many(entries))

    async def remove_many(self, entries: Iterable[tuple[str, int]]) -> None:
        await self._outage.required("remove", self._remove_many(entries))

    async def page(self, timeline: str, page: Page) -> list[int]:
        return await self._outage.required("page", self._page(timeline, page))

    async def page_if_built(self, timeline: str, page: Page) -> list[int] | None:
        return await self._outage.required("page", self._page_if_built(timeline, page))

    async def exists(self, timeline: str) -> bool:
        return await self._outage.required("exists", self._exists(timeline))

    async def replace(self, timeline: str, ids: Sequence[int]) -> None:
        await self._outage.required("replace", self._replace(timeline, ids))

    async def drop(self, timeline: str) -> None:
        """Forget a timeline (as Mastodon does for inactive users); the next read rebuilds it."""
        await self._outage.required("drop", self._drop(timeline))

    async def warm(self) -> int:
        """Nothing to do: the lists live in Redis, not in this process."""
        return 0

    async def close(self) -> None:
        """The client belongs to whoever opened it (one client serves every Redis adapter)."""


def _ids(page: Page, members: list[bytes]) -> list[int]:
    """A ZRANGE's members as ids, newest first."""
    ids = [_unpack(m) for m in members]
    if page.ascending:
        ids.reverse()
    return ids
