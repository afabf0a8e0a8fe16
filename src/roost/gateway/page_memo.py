"""Whole timeline pages as sent, reused while nothing on them has changed.

A reader who refreshes their home timeline usually gets the same page again.
Instead of splicing it anew, the page's body is kept with what it was made
from: the (id, version) of each Status record and the version of the viewer's
favourited/reblogged sets. The page is reused only while those are the same
versions (roost.domain.versions: a version moves with any change to a record),
so a new status, a deleted one, a counter that moved or a new favourite shows
at once - whether the cache hands back the very objects or copies decoded from
bytes. Embedded authors and reblogged originals are bounded by the render
cache's time (``render_cache_seconds``), exactly as for a page spliced from
scratch.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from operator import attrgetter

from roost.domain.entities import Status, ViewerFlags

# A version is a digest of the whole record, its id included: equal versions,
# equal (id, version). attrgetter under map(): the check stays in C.
_version = attrgetter("version")


class _Page:
    __slots__ = ("body", "flags", "statuses", "valid_until")

    def __init__(self, statuses: list[int], flags: int | None, body: bytes, valid_until: float) -> None:
        self.statuses = statuses
        self.flags = flags
        self.body = body
        self.valid_until = valid_until


def _flags_version(flags: ViewerFlags | None) -> int | None:
    return None if flags is None else flags.version  # None: an anonymous page


class PageMemo:
    def __init__(self, max_pages: int) -> None:
        self._pages: OrderedDict[Hashable, _Page] = OrderedDict()
        self._max_pages = max_pages
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, statuses: list[Status], flags: ViewerFlags | None, now: float) -> bytes | None:
        page = self._pages.get(key)
        if (page is None or page.valid_until < now or page.flags != _flags_version(flags)
                or page.statuses != list(map(_version, statuses))):
            self.misses += 1
            return None
        self.hits += 1
        return page.body

    def put(self, key: Hashable, statuses: list[Status], flags: ViewerFlags | None, body: bytes,
            valid_until: float) -> None:
        if self._max_pages <= 0:
            return
        if (flags is not None and not flags.version) or any(not s.version for s in statuses):
            return  # something on it is not versioned: nothing could tell it changed
        self._pages[key] = _Page(list(map(_version, statuses)), _flags_version(flags), body, valid_until)
        self._pages.move_to_end(key)
        if len(self._pages) > self._max_pages:
            self._pages.popitem(last=False)

    def __len__(self) -> int:
        return len(self._pages)
