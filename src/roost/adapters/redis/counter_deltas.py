"""Pending status-counter deltas on a shared Redis: the write-back policy's buffer
(ports/counters.py PendingDeltas; the policy is services/status_counters.py).

Keys, under one prefix:

    <prefix>pending   hash "<status id>:<counter>" -> delta not yet taken by a flusher
    <prefix>batch     hash, same fields: the batch a flusher is applying to the database
    <prefix>flusher   the flusher lease (a token, with a TTL)

An increment is one HINCRBY on ``pending``. A flusher takes a batch with one script
(lease, then move up to N fields from ``pending`` to ``batch``), applies it to the
database, then drops ``batch`` and the lease with another script. Readers add both
hashes to the database value, so a delta is counted wherever it is on its way.

Only the lease holder touches ``batch``: a batch still there when a flusher takes
the lease was left by one that died, and is applied first. Applying it can count it
twice when that flusher died after its commit and before dropping it (the recount
repairs that); the lease lasts far longer than any statement may run
(pg_statement_timeout_seconds), so a live flusher never loses its batch to another.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from roost.errors import Unavailable
from roost.ports.counters import STATUS_COUNTERS, StatusCounter

_DOWN = (RedisConnectionError, RedisTimeoutError, OSError)

# KEYS: pending, batch, lease. ARGV: token, lease ms, batch size.
_TAKE = """
local holder = redis.call('GET', KEYS[3])
if holder and holder ~= ARGV[1] then
    return false
end
redis.call('SET', KEYS[3], ARGV[1], 'PX', ARGV[2])
if redis.call('EXISTS', KEYS[2]) == 1 then
    return redis.call('HGETALL', KEYS[2])
end
local wanted = tonumber(ARGV[3])
local moved = 0
local cursor = '0'
repeat
    local scan = redis.call('HSCAN', KEYS[1], cursor, 'COUNT', wanted)
    cursor = scan[1]
    local found = scan[2]
    for i = 1, #found, 2 do
        if moved < wanted then
            redis.call('HINCRBY', KEYS[2], found[i], found[i + 1])
            redis.call('HDEL', KEYS[1], found[i])
            moved = moved + 1
        end
    end
until cursor == '0' or moved >= wanted
if moved == 0 then
    redis.call('DEL', KEYS[3])  -- nothing to do: let any process flush next
    return {}
end
return redis.call('HGETALL', KEYS[2])
"""

# KEYS: batch, lease. ARGV: token. Only the lease holder drops its batch.
_DONE = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
    redis.call('DEL', KEYS[1], KEYS[2])
    return 1
end
return 0
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _field(status_id: int, counter: StatusCounter) -> str:
    return f"{status_id}:{counter}"


def _parse(field: Any) -> tuple[int, StatusCounter]:
    status_id, counter = _text(field).split(":", 1)
    if counter not in STATUS_COUNTERS:
        raise ValueError(f"not a status counter: {counter!r}")
    return int(status_id), counter


class RedisPendingDeltas:
    def __init__(self, client: Redis, prefix: str = "roost:counters:", lease_seconds: float = 60.0) -> None:
        self._redis = client
        self._pending = f"{prefix}pending"
        self._batch = f"{prefix}batch"
        self._lease = f"{prefix}flusher"
        self._lease_ms = max(1, int(lease_seconds * 1000))
        self._token = secrets.token_hex(16)  # this flusher's
        self._take = client.register_script(_TAKE)
        self._done = client.register_script(_DONE)

    async def add(self, status_id: int, counter: StatusCounter, delta: int) -> None:
        try:
            await self._redis.hincrby(self._pending, _field(status_id, counter), delta)
        except _DOWN as error:
            raise Unavailable("The counter store is unavailable") from error

    async def pending(self, status_ids: Sequence[int]) -> dict[int, dict[StatusCounter, int]]:
        if not status_ids:
            return {}
        keys = [(i, c) for i in status_ids for c in STATUS_COUNTERS]
        fields = [_field(i, c) for i, c in keys]
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hmget(self._pending, fields)
                pipe.hmget(self._batch, fields)
                waiting, applying = await pipe.execute()
        except _DOWN:
            return {}  # read as "nothing pending": the database value alone
        out: dict[int, dict[StatusCounter, int]] = {}
        for (status_id, counter), a, b in zip(keys, waiting, applying, strict=True):
            delta = int(a or 0) + int(b or 0)
            if delta:
                out.setdefault(status_id, {})[counter] = delta
        return out

    async def take(self, batch: int) -> dict[tuple[int, StatusCounter], int] | None:
        try:
            flat = await self._take(keys=[self._pending, self._batch, self._lease],
                                    args=[self._token, self._lease_ms, max(1, batch)])
        except _DOWN as error:
            raise Unavailable("The counter store is unavailable") from error
        if flat is None:
            return None
        return {_parse(flat[i]): int(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def done(self) -> None:
        try:
            await self._done(keys=[self._batch, self._lease], args=[self._token])
        except _DOWN as error:
            raise Unavailable("The counter store is unavailable") from error

    async def forget(self, status_ids: Sequence[int] | None) -> None:
        if status_ids is None:
            await self._redis.delete(self._pending, self._batch)
            return
        fields = [_field(i, c) for i in status_ids for c in STATUS_COUNTERS]
        if fields:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(self._pending, *fields)
                pipe.hdel(self._batch, *fields)
                await pipe.execute()
