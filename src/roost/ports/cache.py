"""The cache port: cache-aside storage of JSON-able values with a TTL."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol


class Cache(Protocol):
    async def get_many(self, keys: Iterable[str]) -> dict[str, Any]:
        """The values found; missing or expired keys are simply absent."""
        ...

    async def set_many(self, items: Mapping[str, Any], ttl: float | None = None) -> None: ...
    async def delete(self, *keys: str) -> None: ...

    # Records by id, in one namespace per kind (an adapter over a key-value
    # store names them "<kind>:<id>"): the hot path of every page of statuses.
    async def get_records(self, kind: str, ids: Iterable[int]) -> dict[int, Any]:
        """The records found, by id; missing or expired ones are simply absent."""
        ...

    async def set_records(self, kind: str, records: Mapping[int, Any], ttl: float | None = None) -> None: ...
    async def delete_records(self, kind: str, *ids: int) -> None: ...
    def stats(self) -> dict[str, int]:
        """hits, misses, evictions, size: for /metrics."""
        ...
