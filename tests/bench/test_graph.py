"""The seeding plan: deterministic per seed, power-law shaped, well-formed."""

from __future__ import annotations

import itertools
import random
import statistics

import pytest

from roost.bench.graph import (
    GraphParams,
    GraphPlan,
    InDegrees,
    ProbeSampler,
    ZipfChooser,
    celebrities_of,
)


def plan(seed: int = 7, accounts: int = 2000, follows: float = 20, statuses: int = 400) -> GraphPlan:
    return GraphPlan(GraphParams(accounts=accounts, avg_follows=follows, statuses=statuses, seed=seed,
                                 celebrities=5))


def snapshot(p: GraphPlan) -> tuple[object, ...]:
    return (
        list(itertools.islice(p.iter_follows(), 300)),
        list(p.statuses()),
        list(p.favourites()),
        list(p.reblogs()),
        p.reader_order()[:50],
    )


def test_same_seed_same_graph() -> None:
    assert snapshot(plan(seed=7)) == snapshot(plan(seed=7))


def test_other_seed_other_graph() -> None:
    assert snapshot(plan(seed=7)) != snapshot(plan(seed=8))


def test_followees_are_generated_independently_of_order() -> None:
    p = plan()
    forward = {f: fs for f, fs in p.iter_follows(0, 100)}
    assert all(p.follows_of(f) == forward[f] for f in reversed(range(100)))


def test_follows_are_distinct_and_never_oneself() -> None:
    p = plan()
    for follower, followees in p.iter_follows():
        assert follower not in followees
        assert len(set(followees)) == len(followees)
        assert all(0 <= a < p.params.accounts for a in followees)


def test_average_out_degree_is_close_to_the_request() -> None:
    p = plan(follows=20)
    degrees = [len(fs) for _, fs in p.iter_follows()]
    assert 17 <= statistics.mean(degrees) <= 23
    assert max(degrees) > 3 * 20  # exponential: some accounts follow many


def test_in_degree_is_power_law_shaped() -> None:
    p = plan(accounts=5000, follows=30)
    degrees = InDegrees(5000)
    for follower, followees in p.iter_follows():
        degrees.observe(follower, followees)
    shape = degrees.shape()
    # Top 1% of accounts hold a large share of follows (uniform would be 1%).
    assert shape["top1pct_share"] > 0.25
    assert shape["max_followers"] > 50 * shape["median_followers"]
    # The most popular accounts are the lowest indices.
    counts = degrees.counts
    assert counts[0] > counts[10] > counts[1000]


def test_celebrities_by_threshold_or_top_k() -> None:
    p = plan()
    degrees = InDegrees(p.params.accounts)
    for follower, followees in p.iter_follows():
        degrees.observe(follower, followees)
    assert celebrities_of(p, degrees, None) == [0, 1, 2, 3, 4]
    by_threshold = celebrities_of(p, degrees, 500)
    assert by_threshold and all(degrees.counts[a] >= 500 for a in by_threshold)


def test_statuses_mention_followed_accounts_and_name_them() -> None:
    p = plan()
    statuses = list(p.statuses())
    assert len(statuses) == 400
    mentioning = [s for s in statuses if s.mentions]
    assert mentioning, "some statuses mention someone"
    for s in mentioning:
        followees = set(p.follows_of(s.author))
        for m in s.mentions:
            assert m in followees
            assert f"@{p.username(m)}" in s.text


def test_interactions_are_unique_and_never_on_own_statuses() -> None:
    p = plan()
    authors = {s.index: s.author for s in p.statuses()}
    for pairs in (list(p.favourites()), list(p.reblogs())):
        assert len(set(pairs)) == len(pairs)
        assert all(authors[status] != account for account, status in pairs)
    assert len(list(p.favourites())) == 400  # favourites_per_status = 1.0


def test_reblogs_follow_their_originals_interleaved_with_new_statuses() -> None:
    p = plan(statuses=4000)
    schedule = p.reblog_schedule()
    assert schedule == plan(statuses=4000).reblog_schedule()  # deterministic
    scheduled = [(after, pair) for after, pairs in schedule.items() for pair in pairs]
    assert sorted(pair for _, pair in scheduled) == sorted(p.reblogs())
    assert all(pair[1] < after < 4000 for after, pair in scheduled)
    delays = [after - pair[1] for after, pair in scheduled]
    assert 25 < statistics.mean(delays) < 75  # REBLOG_DELAY on average, for those not cut off at the end
    # Spread through the whole run, not bunched after the last status.
    assert len({after // 500 for after, _ in scheduled}) == 8


def test_dense_graph_does_not_spin() -> None:
    p = GraphPlan(GraphParams(accounts=10, avg_follows=100, statuses=0, seed=1))
    sizes = [len(followees) for _, followees in p.iter_follows()]
    assert all(size <= 9 for size in sizes)
    assert sizes.count(9) >= 5


def test_probe_sampler_samples_real_followers_deterministically() -> None:
    def sample() -> dict[int, list[int]]:
        p = plan()
        sampler = ProbeSampler(p, normal_authors=5, followers_per_author=4, top_authors=3)
        for follower, followees in p.iter_follows():
            sampler.observe(follower, followees)
        return sampler.result()

    first = sample()
    assert first == sample()
    assert {0, 1, 2} <= set(first)
    p = plan()
    for author, followers in first.items():
        assert len(followers) <= 4
        for f in followers:
            assert author in p.follows_of(f)


def test_zipf_chooser_prefers_low_ranks() -> None:
    import random

    chooser = ZipfChooser(100, 1.0)
    draws = chooser.draws(random.Random(1), 20_000)
    assert all(0 <= d < 100 for d in draws)
    assert draws.count(0) > 5 * draws.count(20)


@pytest.mark.parametrize("bad", [{"accounts": 1}, {"celebrities": 10_000}, {"zipf_s": 0}])
def test_params_are_validated(bad: dict[str, float]) -> None:
    args: dict[str, float] = {"accounts": 100, "avg_follows": 5, "statuses": 0, **bad}
    with pytest.raises(ValueError):
        GraphParams(**args)  # type: ignore[arg-type,unused-ignore]


def test_zipf_exponent_zero_draws_uniformly() -> None:
    # `roost bench run --zipf 0`: uniform readers (every account alike), as the issue's
    # cost-with-scale figure asks; the Lua twin in bench/lib.lua uses the same weights.
    chooser = ZipfChooser(4, 0.0)
    counts = [0] * 4
    for rank in chooser.draws(random.Random(3), 40_000):
        counts[rank] += 1
    assert all(9_000 < n < 11_000 for n in counts)
