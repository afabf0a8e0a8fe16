"""Mastodon's id pagination: max_id, since_id (newest page, may leave a gap), min_id (adjacent page)."""

from __future__ import annotations

import random

import pytest

from roost.domain.pagination import Page, clamp_limit

IDS = list(range(10, 0, -1))  # newest first: 10, 9, ..., 1


def test_default_is_the_newest_page() -> None:
    assert Page(limit=3).select(IDS) == [10, 9, 8]


def test_max_id_is_exclusive_and_goes_older() -> None:
    assert Page(limit=3, max_id=8).select(IDS) == [7, 6, 5]
    assert Page(limit=3, max_id=1).select(IDS) == []


def test_since_id_returns_the_newest_page_leaving_a_gap() -> None:
    assert Page(limit=3, since_id=3).select(IDS) == [10, 9, 8]


def test_min_id_returns_the_page_immediately_above_newest_first() -> None:
    assert Page(limit=3, min_id=3).select(IDS) == [6, 5, 4]
    assert Page(limit=3, min_id=9).select(IDS) == [10]
    assert Page(limit=3, min_id=10).select(IDS) == []


def test_min_id_wins_over_since_id() -> None:
    assert Page(limit=2, since_id=1, min_id=5).select(IDS) == [7, 6]
    assert Page(limit=2, since_id=5, min_id=1).select(IDS) == [3, 2]
    assert Page(since_id=5, min_id=1).lower_bound == 1


def test_max_id_and_min_id_combine() -> None:
    assert Page(limit=10, max_id=8, min_id=3).select(IDS) == [7, 6, 5, 4]
    assert Page(limit=2, max_id=8, min_id=3).select(IDS) == [5, 4]
    assert Page(limit=2, max_id=8, since_id=3).select(IDS) == [7, 6]


def test_contains_bounds_are_exclusive() -> None:
    page = Page(max_id=8, since_id=3)
    assert [i for i in IDS if page.contains(i)] == [7, 6, 5, 4]
    assert page.ascending is False and Page(min_id=1).ascending is True


def test_walking_max_id_visits_everything_once_newest_first() -> None:
    ids = sorted(random.Random(1).sample(range(1, 10_000), 57), reverse=True)
    seen: list[int] = []
    page = Page(limit=5)
    while chunk := page.select(ids):
        seen += chunk
        page = Page(limit=5, max_id=chunk[-1])
    assert seen == ids


def test_walking_min_id_forward_visits_everything_once() -> None:
    ids = sorted(random.Random(2).sample(range(1, 10_000), 23), reverse=True)
    seen: list[int] = []
    page = Page(limit=4, min_id=0)
    while chunk := page.select(ids):
        assert chunk == sorted(chunk, reverse=True)
        seen = chunk + seen
        page = Page(limit=4, min_id=chunk[0])
    assert seen == ids


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, 20), (1, 1), (20, 20), (40, 40), (41, 40), (1000, 40), (0, 1), (-5, 1)]
)
def test_clamp_limit(raw: int | None, expected: int) -> None:
    assert clamp_limit(raw, 20, 40) == expected
