"""Whole timeline pages as sent, reused while nothing on them has changed.

A reader who refreshes their home timeline usually gets the same page again.
Instead of splicing it anew, the page's body is kept with what it was made
from: the Status records (cached records are replaced, never mutated, when
they change) and the viewer's favourited/reblogged sets (replaced whenever
the viewer favourites or reblogs). The page is reused only while those are
the very same objects, so a new status, a deleted one, a counter that moved
or a new favourite shows at once. Embedded authors and reblogged originals
are bounded by the render cache's time (``render_cache_seconds``), exactly as
for a page spliced from scratch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from collections.abc import Set as AbstractSet

from roost.domain.entities import Status


class _Page:
    __slots__ = ("body", "favourited", "reblogged", "statuses", "valid_until")

    def __init__(self, statuses: list[Status], favourited: AbstractSet[int] | None,
                 reblogged: AbstractSet[int] | None, body: bytes, valid_until: float) -> None:
        self.statuses = statuses
        self.favourited = favourited
        self.reblogged = reblogged
        self.body = body
        self.valid_until = valid_until


class PageMemo:
    def __init__(self, max_pages: int) -> None:
        self._pages: OrderedDict[Hashable, _Page] = OrderedDict()
        self._max_pages = max_pages
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, statuses: list[Status], favourited: AbstractSet[int] | None,
            reblogged: AbstractSet[int] | None, now: float) -> bytes | None:
        page = self._pages.get(key)
        # List equality compares the records by identity first, so an unchanged
        # page costs 20 pointer comparisons.
        if (page is None or page.valid_until < now or page.favourited is not favourited
                or page.reblogged is not reblogged or page.statuses != statuses):
            self.misses += 1
            return None
        self.hits += 1
        return page.body

    def put(self, key: Hashable, statuses: list[Status], favourited: AbstractSet[int] | None,
            reblogged: AbstractSet[int] | None, body: bytes, valid_until: float) -> None:
        if self._max_pages <= 0:
            return
        self._pages[key] = _Page(statuses, favourited, reblogged, body, valid_until)
        self._pages.move_to_end(key)
        if len(self._pages) > self._max_pages:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)
