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


def naive_merge(page: Page, lists: list[list[int]]) -> list[int]:
    """The page of the union, the slow way: every ID of every list."""
    return page.select(sorted({i for ids in lists for i in ids}, reverse=True))


@pytest.mark.parametrize("seed", range(300))
def test_merge_equals_the_page_of_the_union(seed: int) -> None:
    rng = random.Random(seed)
    lists = [sorted(rng.sample(range(1, 400), rng.randrange(0, 60))) for _ in range(rng.randrange(1, 8))]
    bound = lambda: rng.choice([None, rng.randrange(0, 420)])  # noqa: E731
    page = Page(limit=rng.choice([1, 5, 20, 40]), max_id=bound(), since_id=bound(),
                min_id=rng.choice([None, None, rng.randrange(0, 420)]))
    stored, *others = lists
    assert page.merge(page.window(stored), others) == naive_merge(page, lists)
