"""Write-through of records that must stay in step with the database (profiles and
relationship counts): after the commit, the request writes the record it committed
into the cache itself instead of only deleting the cached copy, so every process
reads the new value at once, without a rebuild from the database.

The copy is the one the writing transaction read back (``load_in``), carrying the
revision its store raised in the same statement as the write. The cache keeps a
copy only if its revision is higher than the one it holds (``set_records_if_newer``,
atomic in Redis): of two writers that commit in one order and reach the cache in
the other, the older copy is refused, so the newest committed copy is what stays.
Cache-aside fills of the same kind go through the same comparison (a fill read
from a lagging replica cannot replace a newer copy either).

Loss window: none for the database (it committed first). If the cache cannot be
written, the cached copy is deleted instead, and the request fails with 503 when
even that is impossible (``RedisCache``): no stale copy outlives a write it missed.
"""

from __future__ import annotations

from roost.domain.versions import stamp
from roost.ports.cache import Cache
from roost.services.cache_aside import Revisioned

# Tombstones of deleted records live this long: longer than any request that read a
# copy before the delete may take to try writing it back.
DELETED_SECONDS = 300.0


async def write_through(cache: Cache, kind: str, record: Revisioned | None) -> None:
    """Cache ``record`` as its transaction committed it (None: nothing was there)."""
    if record is None:
        return
    stamp(record)
    await cache.set_records_if_newer(kind, {record.id: record})


async def forget_deleted(cache: Cache, kind: str, record_id: int) -> None:
    """Drop a deleted record and keep a late writer from putting a copy back."""
    await cache.delete_records(kind, record_id)
    await cache.set_absent(kind, [record_id], DELETED_SECONDS)
