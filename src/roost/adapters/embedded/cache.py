"""An in-process LRU cache with a TTL: the embedded stand-in for Redis.

Values are kept as the Python objects given (no serialisation), so callers
must treat what they get back as read-only.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any


class MemoryCache:
    def __init__(self, max_items: int = 100_000, default_ttl: float = 300.0) -> None:
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()
        self._max_items = max_items
        self._default_ttl = default_ttl
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        # The hot path of every read: local names, one clock read, counters in bulk.
        now = time.monotonic()
        items = self._items
        get = items.get
        touch = items.move_to_end
        found: dict[str, Any] = {}
        asked = 0
        for key in keys:
            asked += 1
            entry = get(key)
            if entry is None:
                continue
            if entry[0] >= now:
                touch(key)
                found[key] = entry[1]
            else:
                del items[key]
        self.hits += len(found)
        self.misses += asked - len(found)
        return found

    async def set_many(self, items: Mapping[str, Any], ttl: float | None = None) -> None:
        expires = time.monotonic() + (self._default_ttl if ttl is None else ttl)
        store = self._items
        for key, value in items.items():
            store[key] = (expires, value)
            store.move_to_end(key)
        while len(store) > self._max_items:
            store.popitem(last=False)
            self.evictions += 1

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._items.pop(key, None)

    def stats(self) -> dict[str, int]:
        return {
            "hits": self.hits,
            "misses": self.misses,
            "evictions": self.evictions,
            "size": len(self._items),
        }
