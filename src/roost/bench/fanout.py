"""Fanout lag: from a post's 2xx to the status being in followers' home timelines.

For each probe, an author seeded earlier posts a status; then some of that
author's real followers (sampled at seeding time, see
:class:`roost.bench.graph.ProbeSampler`) poll their home timelines with
``min_id`` just below the new id until every one of them has it. The lag
of a post is the time until the *last* sampled follower sees it, i.e. until
the status is in every sampled timeline. Normal and celebrity authors are
reported apart, because the server fans out the first on write and merges
the second at read time.

A status that some follower has still not seen when ``timeout_s`` runs out
is reported as missing, with how many deliveries were missing; it is never
dropped from the figures. The measured lag is an upper bound, too high by at
most one poll interval plus one round of polls. Posts that every follower
already had at the first round of polls are counted as ``immediate``: their
true lag is below what polling can resolve (the first round's duration,
reported too), as expected for celebrities merged at read time.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from roost.bench.pool import run_bounded
from roost.bench.results import FanoutSummary
from roost.bench.state import BenchState, SeededAccount
from roost.bench.stats import percentile


@dataclass(frozen=True, slots=True)
class FanoutConfig:
    posts_per_kind: int = 20
    followers_per_post: int = 10
    timeout_s: float = 10.0
    poll_interval_s: float = 0.02
    concurrency: int = 1
    # Seconds between the starts of consecutive posts, so that probes made
    # during a background load sample all of it, not just its first second.
    spacing_s: float = 0.0


@dataclass(frozen=True, slots=True)
class FanoutProbe:
    author: SeededAccount
    followers: tuple[SeededAccount, ...]
    celebrity: bool


@dataclass(slots=True)
class FanoutObservation:
    author_index: int
    celebrity: bool
    followers: int
    status_id: str | None = None
    lags_s: dict[int, float] = field(default_factory=dict)
    missing_followers: list[int] = field(default_factory=list)
    post_error: str | None = None
    # How long the first round of polls took, and whether every follower
    # already had the status then: such a lag is below what polling resolves.
    first_poll_s: float | None = None
    immediate: bool = False

    @property
    def missing(self) -> bool:
        return self.post_error is None and bool(self.missing_followers)

    @property
    def lag_s(self) -> float | None:
        """Time until every sampled follower had the status; None if it never did."""
        if self.post_error is not None or self.missing_followers or not self.lags_s:
            return None
        return max(self.lags_s.values())


def probes_from_state(state: BenchState, config: FanoutConfig, seed: int = 0) -> list[FanoutProbe]:
    """``posts_per_kind`` probes of each kind, cycling through the sampled authors."""
    celebrities = set(state.celebrities)
    rng = random.Random(seed)
    probes: list[FanoutProbe] = []
    for celebrity in (False, True):
        authors = sorted(a for a, f in state.fanout_probes.items() if f and (a in celebrities) == celebrity)
        if not authors:
            continue
        for n in range(config.posts_per_kind):
            author = authors[n % len(authors)]
            followers = state.fanout_probes[author]
            chosen = rng.sample(followers, min(len(followers), config.followers_per_post))
            probes.append(FanoutProbe(
                state.account(author), tuple(state.account(f) for f in chosen), celebrity
            ))
    return probes


def _min_id(status_id: str) -> str | None:
    # IDs are time-ordered integers: the page just above "one below" starts at
    # this status however many newer ones arrive meanwhile (since_id would give
    # the newest page, which a busy timeline pushes this status off). A
    # non-numeric id gets no cursor; the newest page is searched instead.
    return str(int(status_id) - 1) if status_id.isdigit() else None


def _contains(items: Any, status_id: str) -> bool:
    if not isinstance(items, list):
        return False
    for item in items:
        if not isinstance(item, dict):
            continue
        if str(item.get("id")) == status_id:
            return True
        reblog = item.get("reblog")
        if isinstance(reblog, dict) and str(reblog.get("id")) == status_id:
            return True
    return False


async def observe_fanout(client: httpx.AsyncClient, probe: FanoutProbe, config: FanoutConfig,
                         text: str) -> FanoutObservation:
    loop = asyncio.get_running_loop()
    obs = FanoutObservation(probe.author.index, probe.celebrity, len(probe.followers))
    try:
        response = await client.post(
            "/api/v1/statuses",
            json={"status": text, "visibility": "public"},
            headers={"Authorization": f"Bearer {probe.author.token}"},
        )
    except httpx.HTTPError as exc:
        obs.post_error = repr(exc)
        return obs
    posted_at = loop.time()
    if not response.is_success:
        obs.post_error = f"{response.status_code} {response.text[:200]}"
        return obs
    status_id = str(response.json()["id"])
    obs.status_id = status_id
    params = {"limit": "40"}
    cursor = _min_id(status_id)
    if cursor is not None:
        params["min_id"] = cursor
    pending = {f.index: f for f in probe.followers}

    async def seen_at(follower: SeededAccount) -> float | None:
        """When this follower's poll came back with the status, or None."""
        try:
            r = await client.get(
                "/api/v1/timelines/home", params=params,
                headers={"Authorization": f"Bearer {follower.token}"},
            )
        except httpx.HTTPError:
            return None
        # 206 means the timeline is being rebuilt: not there yet.
        if r.status_code == 200 and _contains(r.json(), status_id):
            return loop.time()
        return None

    deadline = posted_at + config.timeout_s
    while pending:
        round_start = loop.time()
        followers = list(pending.values())
        seen = await asyncio.gather(*(seen_at(f) for f in followers))
        now = loop.time()
        for follower, at in zip(followers, seen, strict=True):
            if at is not None:
                obs.lags_s[follower.index] = at - posted_at
                del pending[follower.index]
        if obs.first_poll_s is None:
            obs.first_poll_s = now - round_start
            obs.immediate = not pending
        if not pending or now >= deadline:
            break
        await asyncio.sleep(max(0.0, min(config.poll_interval_s - (now - round_start), deadline - now)))
    obs.missing_followers = sorted(pending)
    return obs


async def measure_fanout(client: httpx.AsyncClient, probes: Sequence[FanoutProbe],
                         config: FanoutConfig) -> list[FanoutObservation]:
    observations: list[FanoutObservation | None] = [None] * len(probes)
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + i * config.spacing_s - loop.time()))
        text = f"fanout probe {i} from {probes[i].author.username}"
        observations[i] = await observe_fanout(client, probes[i], config, text)

    await run_bounded(range(len(probes)), one, config.concurrency)
    return [o for o in observations if o is not None]


def summarize_fanout(observations: Sequence[FanoutObservation], config: FanoutConfig) -> list[FanoutSummary]:
    summaries = []
    for celebrity, kind in ((False, "normal"), (True, "celebrity")):
        group = [o for o in observations if o.celebrity == celebrity]
        if not group:
            continue
        lags = [lag * 1000 for o in group if (lag := o.lag_s) is not None]
        first_polls = [o.first_poll_s * 1000 for o in group if o.first_poll_s is not None]
        summaries.append(FanoutSummary(
            author_kind=kind,
            posts=len(group),
            delivered=len(lags),
            missing=sum(o.missing for o in group),
            followers_per_post=sum(o.followers for o in group) / len(group),
            p50_ms=percentile(lags, 50) if lags else None,
            p99_ms=percentile(lags, 99) if lags else None,
            max_ms=max(lags) if lags else None,
            timeout_s=config.timeout_s,
            poll_interval_ms=config.poll_interval_s * 1000,
            missing_deliveries=sum(len(o.missing_followers) for o in group),
            post_errors=sum(o.post_error is not None for o in group),
            immediate=sum(o.immediate for o in group),
            first_poll_p50_ms=percentile(first_polls, 50) if first_polls else None,
        ))
    return summaries
