"""The cache port: cache-aside storage of values with a TTL.

Values cross a process boundary in adapters like Redis: each kind has a
``Codec`` (roost.services.cache_codecs) and such an adapter stores its bytes.
What a get returns is therefore an equal copy at best, never the object that
was set: memos compare record versions (roost.domain.versions), not identity.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Protocol, TypeVar

T = TypeVar("T")


class Codec(Protocol[T]):
    def encode(self, value: T) -> bytes: ...
    def decode(self, data: bytes) -> T: ...


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

    async def set_records(self, kind: str, records: Mapping[int, Any], ttl: float | None = None) -> None:
        """Store records (and forget any tombstone of theirs)."""
        ...

    async def delete_records(self, kind: str, *ids: int) -> None:
        """Forget records and their tombstones: the next read goes to the store."""
        ...

    # Write-through (services/write_through.py): records of kinds whose store gives every
    # write a higher ``revision`` (an int attribute of the record, encoded with it).
    async def set_records_if_newer(self, kind: str, records: Mapping[int, Any], ttl: float | None = None) -> set[int]:
        """Store each record unless the cache holds a copy of the same or a higher
        ``revision``, or a tombstone of its id (it was deleted): compared and written
        atomically per record, across every process sharing the cache, so a writer that
        lost a race can never put back an older copy. Returns the ids stored."""
        ...

    # Negative caching: ids known to be missing from the store, for a short time.
    async def get_absent(self, kind: str, ids: Iterable[int]) -> set[int]:
        """Those of ``ids`` with a live tombstone."""
        ...

    async def set_absent(self, kind: str, ids: Iterable[int], ttl: float) -> None: ...

    # Single flight: one rebuild per key at a time, across every process sharing the cache.
    async def claim(self, keys: Iterable[str], ttl: float) -> set[str]:
        """Those of ``keys`` this caller may now rebuild: nobody else gets them until
        ``release`` or ``ttl`` seconds (a crashed holder cannot block a key longer)."""
        ...

    async def release(self, keys: Iterable[str]) -> None: ...

    def stats(self) -> dict[str, int]:
        """hits, misses, evictions, size: for /metrics."""
        ...
