"""Fanout-lag measurement: delivered statuses are timed, lost ones are missing."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roost.bench.fanout import (
    FanoutConfig,
    FanoutProbe,
    measure_fanout,
    probes_from_state,
    summarize_fanout,
)
from roost.bench.graph import GraphParams
from roost.bench.state import BenchState, SeededAccount


class FakeTimelines:
    """Posts get ids; a follower sees a post after ``delivery_polls`` polls (None: never).
    Each post is followed by ``newer`` posts of others that every follower sees at once,
    as under a background post load. Pages follow Mastodon: min_id gives the oldest
    ``limit`` above it, since_id the newest."""

    def __init__(self, delivery_polls: dict[str, int | None], newer: int = 0) -> None:
        self.delivery_polls = delivery_polls
        self.newer = newer
        self.next_id = 1000
        self.polls: dict[tuple[str, str], int] = {}
        self.min_ids: list[str] = []
        self.posted: list[str] = []
        self.others: list[str] = []

    def app(self) -> Starlette:
        async def post(request: Request) -> JSONResponse:
            self.next_id += 1
            posted = str(self.next_id)
            self.posted.append(posted)
            for _ in range(self.newer):
                self.next_id += 1
                self.others.append(str(self.next_id))
            return JSONResponse({"id": posted, "content": "x"})

        async def home(request: Request) -> JSONResponse:
            token = request.headers["authorization"].removeprefix("Bearer ")
            limit = int(request.query_params.get("limit", "20"))
            min_id = request.query_params.get("min_id")
            if min_id is not None:
                self.min_ids.append(min_id)
            above = int(min_id or request.query_params.get("since_id", "0"))
            visible: list[int] = [int(i) for i in self.others if int(i) > above]
            for status_id in self.posted:
                if int(status_id) <= above:
                    continue
                key = (token, status_id)
                self.polls[key] = self.polls.get(key, 0) + 1
                needed = self.delivery_polls.get(token)
                if needed is not None and self.polls[key] >= needed:
                    visible.append(int(status_id))
            visible.sort()
            page = visible[:limit] if min_id is not None else visible[-limit:]
            return JSONResponse([{"id": str(i)} for i in reversed(page)])

        return Starlette(routes=[
            Route("/api/v1/statuses", post, methods=["POST"]),
            Route("/api/v1/timelines/home", home),
        ])


def account(index: int, token: str) -> SeededAccount:
    return SeededAccount(index, str(index + 1), f"u{index}", token)


def run(fake: FakeTimelines, probes: list[FanoutProbe], config: FanoutConfig) -> Any:
    async def main() -> Any:
        transport = httpx.ASGITransport(app=fake.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            return await measure_fanout(client, probes, config)

    return asyncio.run(main())


CONFIG = FanoutConfig(timeout_s=0.3, poll_interval_s=0.01, concurrency=2)


def test_status_that_never_arrives_is_missing() -> None:
    fake = FakeTimelines({"f1": 1, "f2": None})
    probe = FanoutProbe(account(0, "author"), (account(1, "f1"), account(2, "f2")), celebrity=False)
    [obs] = run(fake, [probe], CONFIG)
    assert obs.missing
    assert obs.lag_s is None
    assert obs.missing_followers == [2]
    assert set(obs.lags_s) == {1}
    [summary] = summarize_fanout([obs], CONFIG)
    assert (summary.posts, summary.delivered, summary.missing) == (1, 0, 1)
    assert summary.missing_deliveries == 1
    assert summary.p50_ms is None and summary.max_ms is None


def test_lag_is_the_time_until_the_last_follower_sees_it() -> None:
    fake = FakeTimelines({"f1": 1, "f2": 3})
    probe = FanoutProbe(account(0, "author"), (account(1, "f1"), account(2, "f2")), celebrity=True)
    [obs] = run(fake, [probe], CONFIG)
    assert not obs.missing
    assert obs.lag_s is not None
    assert obs.lag_s == max(obs.lags_s.values())
    assert obs.lags_s[2] >= obs.lags_s[1]
    # Polled with min_id just below the new status.
    assert str(int(obs.status_id) - 1) in fake.min_ids
    [summary] = summarize_fanout([obs], CONFIG)
    assert summary.author_kind == "celebrity"
    assert (summary.delivered, summary.missing) == (1, 0)
    assert summary.max_ms == summary.p99_ms == obs.lag_s * 1000


def test_a_busy_timeline_does_not_hide_the_status() -> None:
    # 60 newer statuses arrive with each post: the newest page of 40 no longer
    # holds it, the page just above it does.
    fake = FakeTimelines({"f1": 2}, newer=60)
    probe = FanoutProbe(account(0, "author"), (account(1, "f1"),), celebrity=False)
    [obs] = run(fake, [probe], CONFIG)
    assert not obs.missing
    assert set(obs.lags_s) == {1}


def test_normal_and_celebrity_are_reported_apart() -> None:
    fake = FakeTimelines({"f1": 1, "f2": None})
    probes = [
        FanoutProbe(account(0, "a"), (account(1, "f1"),), celebrity=False),
        FanoutProbe(account(3, "c"), (account(2, "f2"),), celebrity=True),
    ]
    summaries = {s.author_kind: s for s in summarize_fanout(run(fake, probes, CONFIG), CONFIG)}
    assert summaries["normal"].delivered == 1 and summaries["normal"].missing == 0
    assert summaries["celebrity"].delivered == 0 and summaries["celebrity"].missing == 1


def test_failed_post_is_an_error_not_a_lag() -> None:
    async def refuse(request: Request) -> JSONResponse:
        return JSONResponse({"error": "nope"}, status_code=422)

    app = Starlette(routes=[Route("/api/v1/statuses", refuse, methods=["POST"])])

    async def main() -> Any:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            probe = FanoutProbe(account(0, "a"), (account(1, "f1"),), celebrity=False)
            return await measure_fanout(client, [probe], CONFIG)

    [obs] = asyncio.run(main())
    assert obs.post_error is not None and not obs.missing
    [summary] = summarize_fanout([obs], CONFIG)
    assert summary.post_errors == 1 and summary.delivered == 0


def test_probes_come_from_the_state() -> None:
    accounts = [account(i, f"t{i}") for i in range(6)]
    state = BenchState(
        params=GraphParams(accounts=6, avg_follows=2, statuses=0),
        accounts=accounts,
        celebrities=[0],
        fanout_probes={0: [1, 2, 3], 4: [5]},
    )
    probes = probes_from_state(state, FanoutConfig(posts_per_kind=3, followers_per_post=2))
    assert [p.celebrity for p in probes] == [False] * 3 + [True] * 3
    assert all(p.author.index == 4 and [f.index for f in p.followers] == [5] for p in probes[:3])
    assert all(p.author.index == 0 and len(p.followers) == 2 for p in probes[3:])
