"""Mastodon's ID-based pagination: max_id, since_id, min_id and limit."""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """A request for one page of a newest-first list of IDs.

    ``max_id`` -> ids < max_id; ``since_id`` -> the newest ids > since_id (may leave a gap);
    ``min_id`` -> the ids immediately above min_id (read ascending, returned newest first).
    """

    limit: int = 20
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None

    @property
    def ascending(self) -> bool:
        return self.min_id is not None

    @property
    def lower_bound(self) -> int | None:
        """Exclusive lower bound: min_id wins over since_id when both are given."""
        if self.min_id is not None:
            return self.min_id
        return self.since_id

    def contains(self, item_id: int) -> bool:
        lower = self.lower_bound
        if lower is not None and item_id <= lower:
            return False
        return not (self.max_id is not None and item_id >= self.max_id)

    def window(self, ascending: Sequence[int]) -> list[int]:
        """This page of an ascending (oldest first) sequence of IDs, newest first,
        found by binary search: the cost does not grow with the sequence."""
        return list(reversed(self._slice(ascending, self.lower_bound, self.max_id)))

    def _slice(self, ascending: Sequence[int], lower: int | None, upper: int | None) -> Sequence[int]:
        """Up to ``limit`` IDs strictly between ``lower`` and ``upper``, still ascending:
        the lowest ones when reading upwards (min_id), else the highest."""
        start = 0 if lower is None else bisect.bisect_right(ascending, lower)
        end = len(ascending) if upper is None else bisect.bisect_left(ascending, upper)
        if start >= end:
            return ()
        if self.ascending:
            return ascending[start : min(end, start + self.limit)]
        return ascending[max(start, end - self.limit) : end]

    def merge(self, page: list[int], others: Iterable[Sequence[int]]) -> list[int]:
        """This page of the union of one list, already cut to this page (``page``,
        newest first), and ``others`` (ascending sequences of IDs).

        Home timelines merge a page of the stored list with every followed
        celebrity's recent statuses. Only IDs that could still make the page are
        read from each list: once ``page`` is full, nothing older than its oldest
        (or, reading upwards, newer than its newest) can displace anything, so
        most lists contribute an empty slice found by two binary searches.
        """
        limit = self.limit
        lower, upper = self.lower_bound, self.max_id
        full = len(page) >= limit
        if self.ascending:
            if full:
                upper = page[0] if upper is None else min(upper, page[0])
        elif full:
            lower = page[-1] if lower is None else max(lower, page[-1])
        candidates = set(page)
        for ascending in others:
            candidates.update(self._slice(ascending, lower, upper))
        if self.ascending:
            return sorted(heapq.nsmallest(limit, candidates), reverse=True)
        return heapq.nlargest(limit, candidates)

    def select(self, newest_first: Sequence[int]) -> list[int]:
        """Apply this page to an already newest-first sequence of IDs."""
        candidates = [i for i in newest_first if self.contains(i)]
        if self.ascending:
            return list(reversed(list(reversed(candidates))[: self.limit]))
        return candidates[: self.limit]


def clamp_limit(raw: int | None, default: int, maximum: int) -> int:
    """Mastodon clamps an oversize limit rather than rejecting it."""
    if raw is None:
        return default
    if raw < 1:
        return 1
    return min(raw, maximum)
