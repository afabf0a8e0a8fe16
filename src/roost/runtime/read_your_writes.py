"""Read-your-writes across every roost process of a cluster (issue #9).

A client that has just written must read from its shard's primary, or from a replica that has
replayed past its write; the PostgreSQL adapter routes a read that way while a ``ReadAfter``
token (adapters/postgres/consistency.py) is installed, and notes each commit's position in it.
This module keeps those tokens where every process sees them and installs one around each
request.

Where the token lives: in Redis, one key per account (``shard:position,...``, positions as 16 hex
digits, which compare as strings in the merge script). Not returned to the
client: Mastodon clients echo no cookie or header of ours, and any process may serve the next
request. An entry is only needed until every usable replica has passed it, and a replica further
behind than ``max_replica_lag_seconds`` is not read at all (the replication monitor measures the
lag every ``replica_check_interval_seconds``, so its figure may be that stale, twice: the sample
of the primary and the replica's own reading). Hence the TTL: max lag + 2 check intervals + 1 s
of margin; after that, any replica a read may go to has the write.

Cost for readers who have not written: one Redis round trip per authenticated request (an MGET
of two keys, both missing); anonymous requests cost nothing. A token is written
back only when the request committed something.

Whose writes count: the account's, from any of its access tokens; and an application's writes
made with an app token (registration: POST /api/v1/accounts), read back by the user tokens of
the same application. Requests to the credential endpoints (registration, /oauth/token,
/oauth/authorize, /oauth/revoke) read from the primaries outright: each follows a write whose id
or secret the client only just received (an app, a code, a token). And a bearer token that a
replica does not know is looked up again on the primaries: it may have been issued a moment ago.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import TypeVar

from redis.asyncio import Redis
from redis.exceptions import RedisError

from roost.adapters.postgres.consistency import ReadAfter, reading_after
from roost.domain.entities import Identity
from roost.settings import Settings

logger = logging.getLogger("roost.consistency")
T = TypeVar("T")

# Endpoints whose reads go to the primaries (see the module's docstring).
ON_PRIMARIES = frozenset({("POST", "/oauth/token"), ("POST", "/oauth/authorize"),
                          ("POST", "/oauth/revoke"), ("POST", "/api/v1/accounts")})
# Past any WAL position: no replica qualifies, so the read goes to the primary.
_BEYOND = 2**64

# Raise each shard's position to at least the given one, then refresh the expiry. The value is
# "shard:position,..." with positions as 16 hex digits, so string order is numeric order (Lua
# numbers would lose bits past 2^53). A string rather than a hash, so that loading the account's
# and the application's tokens is one MGET.
_MERGE = """
local positions = {}
local current = redis.call('GET', KEYS[1])
if current then
  for shard, position in string.gmatch(current, '(%d+):(%x+)') do positions[shard] = position end
end
for i = 2, #ARGV, 2 do
  local have = positions[ARGV[i]]
  if (not have) or have < ARGV[i + 1] then positions[ARGV[i]] = ARGV[i + 1] end
end
local parts = {}
for shard, position in pairs(positions) do parts[#parts + 1] = shard .. ':' .. position end
redis.call('SET', KEYS[1], table.concat(parts, ','), 'PX', ARGV[1])
return 1
"""

class OnPrimaries(ReadAfter):
    """A token that sends every read to the primaries, and still notes what is committed."""

    __slots__ = ()

    def needs(self, shard: int) -> int | None:
        return _BEYOND


def ttl_seconds(settings: Settings) -> float:
    return settings.max_replica_lag_seconds + 2 * settings.replica_check_interval_seconds + 1.0


def _keys(identity: Identity, prefix: str) -> list[str]:
    keys = [f"{prefix}app:{identity.application_id}"]
    if identity.account_id is not None:
        keys.insert(0, f"{prefix}account:{identity.account_id}")
    return keys


class ReadYourWrites:
    def __init__(self, client: Redis, ttl_seconds: float, prefix: str = "roost:ryw:") -> None:
        self._redis = client
        self._ttl_ms = max(1, int(ttl_seconds * 1000))
        self._prefix = prefix
        self._merge = client.register_script(_MERGE)
        # For /metrics: requests that found a token of their own (they read from caught-up
        # nodes) and requests that wrote one.
        self.sessions_loaded = 0
        self.sessions_saved = 0
        self.redis_errors = 0

    @contextmanager
    def on_primaries(self) -> Iterator[None]:
        with reading_after(OnPrimaries()):
            yield

    def handled_on_primaries(self, handler: Callable[[T], Awaitable[None]]) -> Callable[[T], Awaitable[None]]:
        """``handler`` reading from the primaries: a log consumer handles an event right after
        the commit that staged it, which a replica may not have replayed yet (a status not found
        there would be taken as deleted, a follower missed)."""

        async def on_primaries(record: T) -> None:
            with reading_after(OnPrimaries()):
                await handler(record)

        return on_primaries

    @asynccontextmanager
    async def around(self, identity: Identity | None, *, on_primaries: bool = False) -> AsyncIterator[None]:
        """The request's reads see this account's (or application's) earlier writes; its own
        commits are remembered for the requests that follow, in whichever process."""
        if identity is None and not on_primaries:
            yield  # anonymous: wrote nothing it could read back
            return
        keys = _keys(identity, self._prefix) if identity is not None else []
        token = OnPrimaries() if on_primaries else await self._load(keys)
        before = dict(token.positions)
        try:
            with reading_after(token):
                yield
        finally:
            # Also after an error: what committed before it must stay visible to its author.
            grown = {s: p for s, p in token.positions.items() if p > before.get(s, -1)}
            if grown and keys:
                await self._save(keys[0], grown)

    async def _load(self, keys: list[str]) -> ReadAfter:
        try:
            found = await self._redis.mget(keys)
        except (RedisError, OSError) as exc:
            # Unknown whether this client wrote: read from the primaries rather than risk it.
            self.redis_errors += 1
            logger.warning("read-your-writes: Redis unreachable (%s); reading from primaries", exc)
            return OnPrimaries()
        positions: dict[int, int] = {}
        for value in found:
            text = value.decode() if isinstance(value, bytes) else (value or "")
            for entry in filter(None, text.split(",")):
                shard, _, position = entry.partition(":")
                index, at = int(shard), int(position, 16)
                if at > positions.get(index, -1):
                    positions[index] = at
        if positions:
            self.sessions_loaded += 1
        return ReadAfter(positions)

    async def _save(self, key: str, positions: dict[int, int]) -> None:
        args: list[int | str] = [self._ttl_ms]
        for shard, position in sorted(positions.items()):
            args += [str(shard), f"{min(position, _BEYOND - 1):016x}"]
        try:
            await self._merge(keys=[key], args=args)
        except (RedisError, OSError) as exc:
            self.redis_errors += 1
            logger.warning("read-your-writes: could not record a write's position (%s)", exc)
            return
        self.sessions_saved += 1
