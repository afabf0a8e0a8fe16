"""The full-text index of statuses, kept on each status's shard.

Each entry carries, beside its text, what decides who may find it from the index
alone: its author, the accounts it mentions, and ``listed`` (findable by anyone:
public, by an author who opted in). ``query`` answers "matches every word AND is
listed or names the viewer as author or mention", newest first, stopping at
``limit``: the rest of who-may-find-what (favourites, reblogs, who may see it now)
is the search service's. Embedded: SQLite FTS5; PostgreSQL: a tsvector column
with a GIN index.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from roost.ports.database import Tx


@dataclass(frozen=True)
class IndexedStatus:
    id: int
    author_id: int
    mention_ids: tuple[int, ...]
    text: str  # spoiler text and text, as searched
    listed: bool  # findable by anyone: public, and the author is indexable


class SearchIndex(Protocol):
    async def index(self, tx: Tx, entry: IndexedStatus) -> None:
        """Add ``entry``, or replace the entry of the same id (a replay is harmless)."""
        ...

    async def unindex(self, tx: Tx, status_id: int) -> None: ...

    async def set_listed(self, tx: Tx, status_ids: Sequence[int], listed: bool) -> None:
        """Mark these statuses (all on the shard of ``tx``) findable by anyone, or not."""
        ...

    async def query(
        self,
        words: Sequence[str],
        viewer_id: int,
        limit: int,
        max_id: int | None = None,
        min_id: int | None = None,
        author_id: int | None = None,
    ) -> list[int]:
        """Ids of statuses matching every word that are listed or name ``viewer_id``
        as author or mention (only by ``author_id`` when given), within the bounds
        (exclusive), newest first: at most ``limit`` per shard, on every shard (the
        author's only when ``author_id`` is given)."""
        ...

    async def matching(self, words: Sequence[str], status_ids: Sequence[int]) -> list[int]:
        """Those of ``status_ids`` whose entry matches every word (any order)."""
        ...

    async def rebuild_stale(self) -> int:
        """Rebuild, from the stored statuses, the index of every shard whose index
        predates the current layout; returns how many shards were rebuilt."""
        ...
