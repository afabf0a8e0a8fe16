"""An in-process LRU cache with a TTL: the embedded stand-in for Redis.

Values are kept as the Python objects given (no serialisation: this cache
never leaves the process, and decoding on every hit would tax the hottest
path), so callers must treat what they get back as read-only - and, as with
any cache, must not rely on getting the very object they set (memos compare
record versions). Given codecs, it stores bytes instead, exactly as an adapter
over another process does: tests run the services through it that way.

Records by id live in one table per kind, keyed by the integer id itself, so
that the hottest reads (20 statuses of a timeline page) build no key strings.
Recency is approximate, as in Redis: an entry read while it is among the
newer half of the cache is not moved, which saves most of the LRU upkeep on
hot entries while still never evicting them.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Hashable, Iterable, Mapping
from typing import Any

from roost.ports.cache import Codec

# (expires at, value, insertion stamp)
_Entry = tuple[float, Any, int]
_PLAIN = ""  # the table of string keys
_ABSENT = "\0absent:"  # + kind: the table of a kind's tombstones


def _live(entry: _Entry | None, now: float) -> bool:
    return entry is not None and entry[0] >= now


class MemoryCache:
    def __init__(self, max_items: int = 100_000, default_ttl: float = 300.0,
                 codecs: Mapping[str, Codec[Any]] | None = None) -> None:
        self._codecs = codecs
        self._claims: dict[str, float] = {}  # key -> until (monotonic)
        self._tables: dict[str, OrderedDict[Hashable, _Entry]] = {_PLAIN: OrderedDict()}
        self._max_items = max_items
        self._default_ttl = default_ttl
        self._size = 0
        self._stamp = 0
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    # -- the port ------------------------------------------------------------------

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        found = self._get(self._tables[_PLAIN], keys)
        if self._codecs is not None:
            return {key: self._codec(key.split(":", 1)[0]).decode(data) for key, data in found.items()}
        return found

    async def set_many(self, items: Mapping[str, Any], ttl: float | None = None) -> None:
        if self._codecs is not None:
            items = {key: self._codec(key.split(":", 1)[0]).encode(value) for key, value in items.items()}
        self._set(_PLAIN, items, ttl)

    async def delete(self, *keys: str) -> None:
        self._delete(_PLAIN, keys)

    async def get_records(self, kind: str, ids: Iterable[int]) -> dict[int, Any]:
        table = self._tables.get(kind)
        if table is None:
            return {}
        if self._codecs is None:
            return self._get(table, ids)
        decode = self._codec(kind).decode
        return {record_id: decode(data) for record_id, data in self._get(table, ids).items()}

    async def set_records(self, kind: str, records: Mapping[int, Any], ttl: float | None = None) -> None:
        if self._codecs is not None:
            encode = self._codec(kind).encode
            records = {record_id: encode(record) for record_id, record in records.items()}
        self._set(kind, records, ttl)
        self._delete(_ABSENT + kind, records)

    async def delete_records(self, kind: str, *ids: int) -> None:
        self._delete(kind, ids)
        self._delete(_ABSENT + kind, ids)

    async def set_records_if_newer(self, kind: str, records: Mapping[int, Any], ttl: float | None = None) -> set[int]:
        # No await between the comparison and the write: atomic within the one process
        # this cache serves, as the Redis script is across processes.
        table = self._tables.get(kind)
        tombstones = self._tables.get(_ABSENT + kind)
        now = time.monotonic()
        newer: dict[int, Any] = {}
        for record_id, record in records.items():
            if tombstones is not None and _live(tombstones.get(record_id), now):
                continue
            held = table.get(record_id) if table is not None else None
            if _live(held, now):
                assert held is not None
                cached = held[1] if self._codecs is None else self._codec(kind).decode(held[1])
                if getattr(cached, "revision", -1) >= record.revision:
                    continue
            newer[record_id] = record
        if newer:
            await self.set_records(kind, newer, ttl)
        return set(newer)

    async def get_absent(self, kind: str, ids: Iterable[int]) -> set[int]:
        table = self._tables.get(_ABSENT + kind)
        return set() if table is None else set(self._get(table, ids))

    async def set_absent(self, kind: str, ids: Iterable[int], ttl: float) -> None:
        self._set(_ABSENT + kind, dict.fromkeys(ids, True), ttl)

    async def claim(self, keys: Iterable[str], ttl: float) -> set[str]:
        now = time.monotonic()
        claimed = set()
        for key in keys:
            if self._claims.get(key, 0.0) < now:
                self._claims[key] = now + ttl
                claimed.add(key)
        return claimed

    async def release(self, keys: Iterable[str]) -> None:
        for key in keys:
            self._claims.pop(key, None)

    def stats(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
            "size": self._size,
        }

    def _codec(self, kind: str) -> Codec[Any]:
        assert self._codecs is not None
        try:
            return self._codecs[kind]
        except KeyError:
            raise KeyError(f"no codec for cache kind {kind!r}") from None

    # -- one implementation for both kinds of key --------------------------------

    def _get(self, table: OrderedDict[Any, _Entry], keys: Iterable[Any]) -> dict[Any, Any]:
        # The hot path of every read: local names, one clock read, counters in bulk.
        now = time.monotonic()
        get = table.get
        old = self._stamp - self._max_items // 2
        found: dict[Any, Any] = {}
        asked = 0
        for key in keys:
            asked += 1
            entry = get(key)
            if entry is None:
                continue
            if entry[0] < now:
                del table[key]
                self._size -= 1
                continue
            found[key] = entry[1]
            if entry[2] <= old:
                self._stamp += 1
                table[key] = (entry[0], entry[1], self._stamp)
                table.move_to_end(key)
        self.hits += len(found)
        self.misses += asked - len(found)
        return found

    def _set(self, kind: str, items: Mapping[Any, Any], ttl: float | None) -> None:
        expires = time.monotonic() + (self._default_ttl if ttl is None else ttl)
        table = self._tables.get(kind)
        if table is None:
            table = self._tables[kind] = OrderedDict()
        for key, value in items.items():
            self._stamp += 1
            if key not in table:
                self._size += 1
            table[key] = (expires, value, self._stamp)
            table.move_to_end(key)
        while self._size > self._max_items:
            # The oldest entry of all is the oldest first entry of some table.
            oldest = min((t for t in self._tables.values() if t), key=lambda t: next(iter(t.values()))[2])
            oldest.popitem(last=False)
            self._size -= 1
            self.evictions += 1

    def _delete(self, kind: str, keys: Iterable[Any]) -> None:
        table = self._tables.get(kind)
        if table is None:
            return
        for key in keys:
            if table.pop(key, None) is not None:
                self._size -= 1
