"""The cache port on Redis (redis-py's asyncio client): shared by every process.

Values cross the process boundary as bytes, through the codec of their kind
(roost.services.cache_codecs). Keys, under one prefix:

    <prefix>r:<kind>:<id>   a record          <prefix>k:<key>        a plain value
    <prefix>x:<kind>:<id>   a tombstone       <prefix>l:<key>        a rebuild claim

Write-through (``set_records_if_newer``) is one script per call: it compares the
cached copy's revision and writes in one step, so no other process slips between.

Multi-gets are one MGET; multi-sets one pipeline of SET PX (no MULTI: each key
stands alone). A claim is SET NX PX with a token of its own, released only by
its holder (a script compares the token: a claim that outlived its TTL and was
taken by another process is not released by the first).

When Redis cannot be reached, reads are misses and writes are skipped, so
requests go on from the database (slower), logged once per outage and counted in
``roost_redis_unreachable{component="entity cache"}``. A deletion (an
invalidation) that cannot reach Redis is kept and sent again before this process
reads the cache again: the cluster's Redis keeps its append-only file across a
restart, so an entry written before the outage would otherwise be served stale
after it. Until they are sent, this process's reads are misses.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable, Mapping
from typing import Any, cast

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from roost.adapters.redis.outage import DOWN, Outage
from roost.ports.cache import Codec

log = logging.getLogger(__name__)

_DOWN = DOWN

# Delete a claim only if it still holds our token.
_RELEASE = """
local released = 0
for i, key in ipairs(KEYS) do
    if redis.call('GET', key) == ARGV[i] then
        released = released + redis.call('DEL', key)
    end
end
return released
"""

# Write-through: store each record unless it was deleted (a tombstone) or the cached
# copy's revision is as high. The revision is read from the cached JSON itself (the
# codecs write records as JSON objects): a second key holding it could be evicted
# apart from its record. KEYS: record, tombstone, ... ARGV: ttl ms, then revision, bytes, ...
_SET_IF_NEWER = """
local stored = {}
for i = 1, #KEYS / 2 do
    local record, tombstone = KEYS[2 * i - 1], KEYS[2 * i]
    local revision = tonumber(ARGV[2 * i])
    if redis.call('EXISTS', tombstone) == 0 then
        local cached = redis.call('GET', record)
        local held = -1
        if cached then
            held = tonumber(cjson.decode(cached)['revision']) or -1
        end
        if revision > held then
            redis.call('SET', record, ARGV[2 * i + 1], 'PX', ARGV[1])
            stored[#stored + 1] = i
        end
    end
end
return stored
"""


def connect(url: str, password: str | None = None, timeout: float = 0.5) -> aioredis.Redis:
    """A client for the cache: bytes in and out, a short timeout and one retry. A cache
    that is down must cost a request little: the default client retries with backoff
    for seconds on every call, which here would only delay reading the database."""
    return aioredis.Redis.from_url(url, password=password, socket_timeout=timeout,
                                   socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 1))


class RedisCache:
    """``client`` must not decode responses (values are bytes); see ``connect``."""

    def __init__(self, client: aioredis.Redis, codecs: Mapping[str, Codec[Any]],
                 default_ttl: float = 300.0, prefix: str = "roost:cache:") -> None:
        self._client = client
        self._codecs = codecs
        self._default_ttl_ms = max(1, int(default_ttl * 1000))
        self._prefix = prefix
        self._release = client.register_script(_RELEASE)
        self._set_if_newer = client.register_script(_SET_IF_NEWER)
        self._held: dict[str, bytes] = {}  # claim key -> our token
        self._undeleted: set[str] = set()  # invalidations Redis did not get (it was down)
        self._outage = Outage("entity cache")
        self.hits = 0
        self.misses = 0
        self.errors = 0  # operations that found Redis unreachable
        self._size = 0
        self._evictions = 0

    # -- keys -----------------------------------------------------------------------

    def _record_key(self, kind: str, record_id: int) -> str:
        return f"{self._prefix}r:{kind}:{record_id}"

    def _tombstone_key(self, kind: str, record_id: int) -> str:
        return f"{self._prefix}x:{kind}:{record_id}"

    def _codec(self, kind: str) -> Codec[Any]:
        try:
            return self._codecs[kind]
        except KeyError:
            raise KeyError(f"no codec for cache kind {kind!r}") from None

    def _ttl_ms(self, ttl: float | None) -> int:
        return self._default_ttl_ms if ttl is None else max(1, int(ttl * 1000))

    def _down(self, action: str, error: Exception) -> None:
        self.errors += 1
        self._outage.failed(action, error, "reading the database")

    async def _usable(self) -> bool:
        """False while invalidations Redis missed cannot be sent yet: what they cover
        may be stale there, so reads are misses until then."""
        if not self._undeleted:
            return True
        keys = sorted(self._undeleted)
        try:
            await self._client.delete(*keys)
        except _DOWN as error:
            self._down("invalidate", error)
            return False
        self._undeleted.difference_update(keys)
        self._outage.answered()
        return True

    async def _counted_mget(self, keys: list[str]) -> list[bytes | None]:
        """The cached values of ``keys`` (None where absent), counted as hits and misses;
        all None while Redis is out of reach or an invalidation is still unsent."""
        if not keys:
            return []
        values: list[bytes | None] = [None] * len(keys)
        if await self._usable():
            try:
                values = cast(list[bytes | None], await self._client.mget(keys))
            except _DOWN as error:
                self._down("get", error)
        found = sum(v is not None for v in values)
        self.hits += found
        self.misses += len(keys) - found
        return values

    # -- plain keys -----------------------------------------------------------------

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        wanted = list(keys)
        values = await self._counted_mget([f"{self._prefix}k:{k}" for k in wanted])
        return {k: self._codec(k.split(":", 1)[0]).decode(v) for k, v in zip(wanted, values, strict=True)
                if v is not None}

    async def set_many(self, items: Mapping[str, Any], ttl: float | None = None) -> None:
        if not items:
            return
        ttl_ms = self._ttl_ms(ttl)
        pipe = self._client.pipeline(transaction=False)
        for key, value in items.items():
            pipe.set(f"{self._prefix}k:{key}", self._codec(key.split(":", 1)[0]).encode(value), px=ttl_ms)
        try:
            await pipe.execute()
        except _DOWN as error:
            self._down("set", error)

    async def delete(self, *keys: str) -> None:
        if keys:
            await self._delete([f"{self._prefix}k:{k}" for k in keys])

    # -- records by id ----------------------------------------------------------------

    async def get_records(self, kind: str, ids: Iterable[int]) -> dict[int, Any]:
        wanted = list(dict.fromkeys(ids))
        values = await self._counted_mget([self._record_key(kind, i) for i in wanted])
        decode = self._codec(kind).decode
        return {i: decode(v) for i, v in zip(wanted, values, strict=True) if v is not None}

    async def set_records(self, kind: str, records: Mapping[int, Any], ttl: float | None = None) -> None:
        if not records:
            return
        encode = self._codec(kind).encode
        ttl_ms = self._ttl_ms(ttl)
        pipe = self._client.pipeline(transaction=False)
        for record_id, record in records.items():
            pipe.set(self._record_key(kind, record_id), encode(record), px=ttl_ms)
        pipe.delete(*(self._tombstone_key(kind, i) for i in records))
        try:
            await pipe.execute()
        except _DOWN as error:
            self._down("set", error)

    async def delete_records(self, kind: str, *ids: int) -> None:
        if ids:
            await self._delete([*(self._record_key(kind, i) for i in ids),
                                *(self._tombstone_key(kind, i) for i in ids)])

    async def set_records_if_newer(self, kind: str, records: Mapping[int, Any], ttl: float | None = None) -> set[int]:
        if not records:
            return set()
        encode = self._codec(kind).encode
        order = list(records)
        keys: list[str] = []
        args: list[Any] = [self._ttl_ms(ttl)]
        for record_id in order:
            keys += [self._record_key(kind, record_id), self._tombstone_key(kind, record_id)]
            args += [records[record_id].revision, encode(records[record_id])]
        try:
            stored = await self._set_if_newer(keys=keys, args=args)
        except _DOWN as error:
            self._down("set", error)
            # The write committed, so an older copy must not stay: drop it like an
            # invalidation does (kept and sent again before this process reads the cache).
            await self._delete(keys[0::2])
            return set()
        return {order[int(i) - 1] for i in stored}

    # -- negative caching -------------------------------------------------------------

    async def get_absent(self, kind: str, ids: Iterable[int]) -> set[int]:
        wanted = list(dict.fromkeys(ids))
        if not wanted or not await self._usable():
            return set()
        try:
            values = await self._client.mget([self._tombstone_key(kind, i) for i in wanted])
        except _DOWN as error:
            self._down("get", error)
            return set()
        return {i for i, v in zip(wanted, values, strict=True) if v is not None}

    async def set_absent(self, kind: str, ids: Iterable[int], ttl: float) -> None:
        wanted = list(ids)
        if not wanted:
            return
        ttl_ms = self._ttl_ms(ttl)
        pipe = self._client.pipeline(transaction=False)
        for record_id in wanted:
            pipe.set(self._tombstone_key(kind, record_id), b"1", px=ttl_ms)
        try:
            await pipe.execute()
        except _DOWN as error:
            self._down("set", error)

    # -- single flight ----------------------------------------------------------------

    async def claim(self, keys: Iterable[str], ttl: float) -> set[str]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return set()
        ttl_ms = self._ttl_ms(ttl)
        tokens = [secrets.token_bytes(16) for _ in wanted]
        pipe = self._client.pipeline(transaction=False)
        for key, token in zip(wanted, tokens, strict=True):
            pipe.set(f"{self._prefix}l:{key}", token, nx=True, px=ttl_ms)
        try:
            results = await pipe.execute()
        except _DOWN as error:
            self._down("claim", error)
            return set(wanted)  # nobody to coordinate with: every caller rebuilds (from the database)
        claimed = set()
        for key, token, ok in zip(wanted, tokens, results, strict=True):
            if ok:
                self._held[key] = token
                claimed.add(key)
        return claimed

    async def release(self, keys: Iterable[str]) -> None:
        held = [(k, t) for k in keys if (t := self._held.pop(k, None)) is not None]
        if not held:
            return
        try:
            await self._release(keys=[f"{self._prefix}l:{k}" for k, _ in held], args=[t for _, t in held])
        except _DOWN as error:
            self._down("release", error)  # the claims expire on their own

    # -- the rest ---------------------------------------------------------------------

    async def _delete(self, keys: list[str]) -> None:
        try:
            await self._client.delete(*keys)
        except _DOWN as error:
            self._down("invalidate", error)
            self._undeleted.update(keys)  # sent again before the next read (``_usable``)

    async def refresh_stats(self) -> None:
        """Read the server's item count and evictions (``stats`` is synchronous)."""
        try:
            self._size = int(await self._client.dbsize())
            info = await self._client.info("stats")
            self._evictions = int(info.get("evicted_keys", 0))
        except _DOWN as error:
            self._down("stats", error)

    def stats(self) -> dict[str, int]:
        """hits and misses of this process; size and evictions of the server, as of
        the last ``refresh_stats``."""
        return {"hits": self.hits, "misses": self.misses, "evictions": self._evictions, "size": self._size}

    async def close(self) -> None:
        await self._client.aclose()
