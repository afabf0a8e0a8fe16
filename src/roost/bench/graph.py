"""The seeded social graph, planned without any I/O.

Both seeding modes (through the HTTP API, and in bulk through the service
layer) walk the same :class:`GraphPlan`, so a given ``--seed`` yields the same
accounts, follows, statuses, mentions, favourites and reblogs either way.

Shape, and why:

- Popularity is Zipf-like: account ``i`` (0-based) is chosen as a followee
  with weight ``1 / (i + 1) ** s``. Real follower counts are power-law, and
  a power law is what makes home-timeline fanout expensive: a few accounts
  hold a large share of all follow edges. The ``celebrities`` most popular
  accounts are reported as such, since the server stops fanning them out.
- Out-degrees are exponential around ``avg_follows`` (most accounts follow a
  few, some follow many) and followees are distinct and never oneself.
- Statuses are mostly from ordinary accounts (uniform), partly from popular
  ones (Zipf), and some mention accounts their author follows.
- Favourites and reblogs go to statuses of popular authors, because people
  interact with what they see.

Every random stream is derived from ``(seed, stream, index)``, so each
follower's followees can be generated alone, in any order, in another process.
A plan of 100,000 accounts with 100 follows each is 10 million edges; nothing
here holds them all at once.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from typing import Any

# Separate streams keep, say, the follow edges unchanged when only the number
# of statuses is changed.
_FOLLOWS, _STATUSES, _FAVOURITES, _REBLOGS, _ORDER, _REBLOG_TIMES = range(6)
# Statuses posted, on average, between an original and a reblog of it.
REBLOG_DELAY = 50

_WORDS = (
    "coffee", "sunrise", "deploy", "garden", "commute", "release", "paper", "bread",
    "rain", "podcast", "bug", "weekend", "river", "meeting", "concert", "review",
)  # fmt: skip


def _rng(seed: int, stream: int, index: int = 0) -> random.Random:
    # random.Random(int) is stable across Python versions and platforms,
    # unlike hash() of strings.
    return random.Random((seed * 1_000_003 + stream) * 1_000_000_007 + index)


@dataclass(frozen=True, slots=True)
class GraphParams:
    accounts: int
    avg_follows: float
    statuses: int
    seed: int = 1
    celebrities: int = 0
    zipf_s: float = 1.0
    mention_rate: float = 0.2
    favourites_per_status: float = 1.0
    reblogs_per_status: float = 0.1
    username_prefix: str = "bench"

    def __post_init__(self) -> None:
        if self.accounts < 2:
            raise ValueError("a graph needs at least 2 accounts")
        if self.avg_follows < 0 or self.statuses < 0:
            raise ValueError("avg_follows and statuses must not be negative")
        if not 0 <= self.celebrities <= self.accounts:
            raise ValueError("celebrities must be between 0 and accounts")
        if self.zipf_s <= 0:
            raise ValueError("zipf_s must be positive")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GraphParams:
        return cls(**data)


@dataclass(frozen=True, slots=True)
class PlannedStatus:
    index: int
    author: int
    text: str
    mentions: tuple[int, ...]


class ZipfChooser:
    """Draws ranks ``0..n-1`` with probability proportional to ``1/(rank+1)**s``."""

    __slots__ = ("_cum", "_total", "n")

    def __init__(self, n: int, s: float) -> None:
        self.n = n
        self._cum = list(itertools.accumulate(1.0 / (rank + 1) ** s for rank in range(n)))
        self._total = self._cum[-1]

    def draw(self, rng: random.Random) -> int:
        return bisect.bisect_right(self._cum, rng.random() * self._total)

    def draws(self, rng: random.Random, k: int) -> list[int]:
        cum, total, n = self._cum, self._total, self.n - 1
        # bisect can return n when random() * total rounds up to the total.
        return [min(bisect.bisect_right(cum, rng.random() * total), n) for _ in range(k)]


class GraphPlan:
    """Who exists, who follows whom and who posts what, for one seed."""

    def __init__(self, params: GraphParams) -> None:
        self.params = params
        self._popularity = ZipfChooser(params.accounts, params.zipf_s)
        self._authors_cache: dict[int, list[int]] | None = None

    # -- accounts -------------------------------------------------------

    def username(self, index: int) -> str:
        return f"{self.params.username_prefix}{index}"

    def email(self, index: int) -> str:
        return f"{self.username(index)}@bench.invalid"

    def password(self, index: int) -> str:
        # Deterministic so a re-run can log in to accounts it already made.
        return f"pw-{self.params.seed}-{index}-roost-bench"

    @property
    def celebrities(self) -> range:
        return range(self.params.celebrities)

    def reader_order(self) -> list[int]:
        """Accounts in order of reading activity, unrelated to popularity."""
        order = list(range(self.params.accounts))
        _rng(self.params.seed, _ORDER).shuffle(order)
        return order

    # -- follows --------------------------------------------------------

    def out_degree(self, follower: int) -> int:
        rng = _rng(self.params.seed, _FOLLOWS, follower)
        return self._out_degree(rng)

    def _out_degree(self, rng: random.Random) -> int:
        avg = self.params.avg_follows
        if avg <= 0:
            return 0
        degree = 1 + int(rng.expovariate(1.0 / avg)) if avg > 1 else int(rng.random() < avg)
        return min(degree, self.params.accounts - 1)

    def follows_of(self, follower: int) -> list[int]:
        """Distinct followees of one account, most popular first."""
        rng = _rng(self.params.seed, _FOLLOWS, follower)
        k = self._out_degree(rng)
        n = self.params.accounts
        if k == 0:
            return []
        if k * 2 >= n - 1:
            # Nearly everyone: rejection sampling would spin, and popularity
            # hardly matters when most accounts are followed anyway.
            others = [a for a in range(n) if a != follower]
            return sorted(rng.sample(others, k))
        chosen: set[int] = set()
        while len(chosen) < k:
            missing = k - len(chosen)
            for a in self._popularity.draws(rng, missing + missing // 4 + 2):
                if a != follower:
                    chosen.add(a)
                    if len(chosen) == k:
                        break
        return sorted(chosen)

    def iter_follows(self, start: int = 0, stop: int | None = None) -> Iterator[tuple[int, list[int]]]:
        for follower in range(start, self.params.accounts if stop is None else stop):
            yield follower, self.follows_of(follower)

    def in_degrees(self) -> list[int]:
        """Follower count of every account; walks every edge, so O(edges)."""
        counts = [0] * self.params.accounts
        for _, followees in self.iter_follows():
            for a in followees:
                counts[a] += 1
        return counts

    # -- statuses -------------------------------------------------------

    def statuses(self) -> Iterator[PlannedStatus]:
        rng = _rng(self.params.seed, _STATUSES)
        n = self.params.accounts
        for index in range(self.params.statuses):
            author = self._popularity.draw(rng) if rng.random() < 0.3 else rng.randrange(n)
            words = " ".join(rng.choice(_WORDS) for _ in range(rng.randint(3, 9)))
            mentions: tuple[int, ...] = ()
            if rng.random() < self.params.mention_rate:
                followees = self.follows_of(author)
                if followees:
                    count = min(len(followees), rng.randint(1, 2))
                    mentions = tuple(rng.sample(followees, count))
            prefix = " ".join(f"@{self.username(m)}" for m in mentions)
            text = f"{prefix} {words} #{index}" if prefix else f"{words} #{index}"
            yield PlannedStatus(index, author, text, mentions)

    def _statuses_by_author(self) -> dict[int, list[int]]:
        if self._authors_cache is None:
            by_author: dict[int, list[int]] = {}
            for status in self.statuses():
                by_author.setdefault(status.author, []).append(status.index)
            self._authors_cache = by_author
        return self._authors_cache

    def _interactions(self, stream: int, per_status: float) -> Iterator[tuple[int, int]]:
        total = round(self.params.statuses * per_status)
        by_author = self._statuses_by_author()
        # Sorted by index is sorted by popularity: popular authors are seen
        # more, so they collect more interactions.
        ranked = sorted(by_author)
        if not ranked:
            return
        weights = ZipfChooser(len(ranked), self.params.zipf_s)
        rng = _rng(self.params.seed, stream)
        seen: set[tuple[int, int]] = set()
        attempts = 0
        while len(seen) < total and attempts < total * 4:
            attempts += 1
            account = rng.randrange(self.params.accounts)
            author = ranked[weights.draw(rng)]
            if author == account:
                continue
            pair = (account, rng.choice(by_author[author]))
            if pair not in seen:
                seen.add(pair)
                yield pair

    def favourites(self) -> Iterator[tuple[int, int]]:
        """``(account, status index)`` pairs, each at most once."""
        return self._interactions(_FAVOURITES, self.params.favourites_per_status)

    def reblogs(self) -> Iterator[tuple[int, int]]:
        """``(account, status index)`` pairs, never an author's own status."""
        return self._interactions(_REBLOGS, self.params.reblogs_per_status)

    def reblog_schedule(self) -> dict[int, list[tuple[int, int]]]:
        """The reblogs, by the index of the status after which each is made.

        A reblog follows its original by a few dozen statuses (exponentially
        distributed), so home timelines interleave reblogs with new statuses as
        real ones do, rather than ending in a block of every reblog at once.
        """
        rng = _rng(self.params.seed, _REBLOG_TIMES)
        last = self.params.statuses - 1
        schedule: dict[int, list[tuple[int, int]]] = {}
        for account, index in self.reblogs():
            after = min(last, index + 1 + int(rng.expovariate(1 / REBLOG_DELAY)))
            schedule.setdefault(after, []).append((account, index))
        return schedule


class ProbeSampler:
    """Chooses fanout-probe authors and samples some of their followers.

    Candidates are the ``top_authors`` most popular accounts (the likely
    celebrities, and big ordinary authors) plus ``normal_authors`` picked at
    random among the rest. Fed every ``(follower, followees)`` row while the
    graph is seeded, so no second walk over all edges is needed; the choice
    is deterministic as long as rows arrive in follower order, which both
    seeding modes guarantee.
    """

    def __init__(self, plan: GraphPlan, normal_authors: int = 20, followers_per_author: int = 10,
                 top_authors: int = 20) -> None:
        params = plan.params
        rng = _rng(params.seed, _ORDER, 1)
        top = min(params.accounts, max(top_authors, params.celebrities))
        ordinary = range(top, params.accounts)
        picked = rng.sample(ordinary, min(normal_authors, len(ordinary)))
        self._per_author = followers_per_author
        self._rng = rng
        self._seen: dict[int, int] = {a: 0 for a in [*range(top), *picked]}
        self._sample: dict[int, list[int]] = {a: [] for a in self._seen}

    def observe(self, follower: int, followees: list[int]) -> None:
        for author in followees:
            if author not in self._seen:
                continue
            # Reservoir sampling (algorithm R): a uniform sample of followers
            # without knowing how many there will be.
            seen = self._seen[author] = self._seen[author] + 1
            sample = self._sample[author]
            if len(sample) < self._per_author:
                sample.append(follower)
            else:
                slot = self._rng.randrange(seen)
                if slot < self._per_author:
                    sample[slot] = follower

    def result(self) -> dict[int, list[int]]:
        return {a: sorted(f) for a, f in self._sample.items() if f}


class InDegrees:
    """Follower counts, accumulated while the edges are seeded."""

    def __init__(self, accounts: int) -> None:
        self.counts = [0] * accounts

    def observe(self, follower: int, followees: list[int]) -> None:
        counts = self.counts
        for a in followees:
            counts[a] += 1

    def celebrities(self, threshold: int) -> list[int]:
        """Accounts the server will treat as celebrities at this follower threshold."""
        return [a for a, n in enumerate(self.counts) if n >= threshold]

    def shape(self) -> dict[str, float]:
        """Numbers that show the power law: the top 1% share of all follows."""
        ordered = sorted(self.counts, reverse=True)
        edges = sum(ordered)
        top = max(1, len(ordered) // 100)
        return {
            "edges": edges,
            "max_followers": ordered[0],
            "median_followers": ordered[len(ordered) // 2],
            "top1pct_share": round(sum(ordered[:top]) / edges, 4) if edges else 0.0,
        }


def celebrities_of(plan: GraphPlan, degrees: InDegrees, threshold: int | None) -> list[int]:
    """The plan's top ``celebrities``, or every account at or above ``threshold``."""
    if threshold is not None:
        return degrees.celebrities(threshold)
    return list(plan.celebrities)
