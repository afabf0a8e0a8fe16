"""API seeding against a fake Mastodon server: the plan is what gets sent."""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from roost.bench.graph import GraphParams, GraphPlan
from roost.bench.seed_api import ApiSeeder, SeedOptions
from roost.bench.state import BenchState


class FakeMastodon:
    def __init__(self) -> None:
        self.ids = itertools.count(100)
        self.users: dict[str, str] = {}  # token -> account id
        self.usernames: set[str] = set()
        self.follows: set[tuple[str, str]] = set()
        self.statuses: dict[str, str] = {}  # status id -> author id
        self.idempotency: dict[str, str] = {}
        self.favourites: set[tuple[str, str]] = set()
        self.reblogs: set[tuple[str, str]] = set()
        self.fail_once: set[str] = {"follow"}
        self.home_reads: list[str] = []
        self.events: list[str] = []  # "post" and "reblog", in the order they arrived

    def me(self, request: Request) -> str:
        return self.users[request.headers["authorization"].removeprefix("Bearer ")]

    def app(self) -> Starlette:
        async def apps(request: Request) -> JSONResponse:
            return JSONResponse({"client_id": "cid", "client_secret": "secret"})

        async def token(request: Request) -> JSONResponse:
            return JSONResponse({"access_token": "app-token", "token_type": "Bearer"})

        async def register(request: Request) -> JSONResponse:
            body = await request.json()
            assert request.headers["authorization"] == "Bearer app-token"
            if body["username"] in self.usernames:
                return JSONResponse({"error": "taken", "details": {"username": [{"error": "ERR_TAKEN"}]}}, 422)
            self.usernames.add(body["username"])
            tok = f"tok-{body['username']}"
            self.users[tok] = str(next(self.ids))
            return JSONResponse({"access_token": tok})

        async def verify(request: Request) -> JSONResponse:
            return JSONResponse({"id": self.me(request)})

        async def follow(request: Request) -> JSONResponse:
            if "follow" in self.fail_once:
                self.fail_once.discard("follow")
                return JSONResponse({"error": "busy"}, 503)  # retried by the seeder
            self.follows.add((self.me(request), request.path_params["id"]))
            return JSONResponse({"id": request.path_params["id"], "following": True})

        async def post(request: Request) -> JSONResponse:
            key = request.headers["idempotency-key"]
            if key not in self.idempotency:
                sid = str(next(self.ids))
                self.statuses[sid] = self.me(request)
                self.idempotency[key] = sid
                self.events.append("post")
            return JSONResponse({"id": self.idempotency[key]})

        async def interact(request: Request) -> JSONResponse:
            pair = (self.me(request), request.path_params["id"])
            (self.favourites if request.path_params["verb"] == "favourite" else self.reblogs).add(pair)
            if request.path_params["verb"] == "reblog":
                assert request.path_params["id"] in self.statuses  # never before its original
                self.events.append("reblog")
            return JSONResponse({"id": request.path_params["id"]})

        async def home(request: Request) -> JSONResponse:
            self.home_reads.append(self.me(request))
            return JSONResponse([])

        return Starlette(routes=[
            Route("/api/v1/timelines/home", home),
            Route("/api/v1/apps", apps, methods=["POST"]),
            Route("/oauth/token", token, methods=["POST"]),
            Route("/api/v1/accounts", register, methods=["POST"]),
            Route("/api/v1/accounts/verify_credentials", verify),
            Route("/api/v1/accounts/{id}/follow", follow, methods=["POST"]),
            Route("/api/v1/statuses", post, methods=["POST"]),
            Route("/api/v1/statuses/{id}/{verb}", interact, methods=["POST"]),
        ])


def seed(fake: FakeMastodon, plan: GraphPlan, warm_timelines: bool = True) -> BenchState:
    async def main() -> BenchState:
        transport = httpx.ASGITransport(app=fake.app())
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            options = SeedOptions(concurrency=8, probe_authors=3, probe_followers=2, celebrity_threshold=None,
                                  warm_timelines=warm_timelines)
            return await ApiSeeder(client, plan, options).seed()

    return asyncio.run(main())


def test_seeds_exactly_the_plan() -> None:
    plan = GraphPlan(GraphParams(accounts=40, avg_follows=5, statuses=30, seed=5, celebrities=2))
    fake = FakeMastodon()
    state = seed(fake, plan)
    assert [a.index for a in state.accounts] == list(range(40))
    ids = [a.id for a in state.accounts]
    expected = {(ids[f], ids[t]) for f, ts in plan.iter_follows() for t in ts}
    assert fake.follows == expected
    assert len(fake.statuses) == 30
    assert len(fake.favourites) == len(list(plan.favourites()))
    assert len(fake.reblogs) == len(list(plan.reblogs()))
    assert state.celebrities == [0, 1]
    assert state.status_ids and set(state.status_ids) <= set(fake.statuses)
    assert state.seed_stats["follows"]["done"] == len(expected)
    assert state.seed_stats["graph"]["edges"] == len(expected)
    for author, followers in state.fanout_probes.items():
        assert all((ids[f], ids[author]) in fake.follows for f in followers)
    # Every account's home timeline was read once at the end, so the server has built it.
    assert sorted(fake.home_reads) == sorted(ids)
    assert state.seed_stats["timelines"]["done"] == 40


def test_cold_timelines_are_left_unread() -> None:
    fake = FakeMastodon()
    state = seed(fake, GraphPlan(GraphParams(accounts=6, avg_follows=2, statuses=3, seed=5)), warm_timelines=False)
    assert fake.home_reads == [] and "timelines" not in state.seed_stats


def test_reblogs_interleave_with_posts() -> None:
    fake = FakeMastodon()
    seed(fake, GraphPlan(GraphParams(accounts=50, avg_follows=5, statuses=1000, seed=5, reblogs_per_status=0.1)))
    assert fake.events.count("reblog") == len(fake.reblogs) == 100
    last_post = len(fake.events) - 1 - fake.events[::-1].index("post")
    assert fake.events.index("reblog") < last_post  # reblogs started long before the last post


def test_statuses_carry_idempotency_keys() -> None:
    plan = GraphPlan(GraphParams(accounts=5, avg_follows=1, statuses=4, seed=5))
    fake = FakeMastodon()
    seed(fake, plan)
    assert sorted(fake.idempotency) == [f"roost-bench-5-{i}" for i in range(4)]


def test_state_round_trips(tmp_path: Any) -> None:
    plan = GraphPlan(GraphParams(accounts=10, avg_follows=2, statuses=5, seed=9))
    state = seed(FakeMastodon(), plan)
    path = tmp_path / "state.json"
    state.save(path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert BenchState.load(path) == state


def test_first_failure_stops_the_pool_and_surfaces_plainly() -> None:
    from roost.bench.pool import run_bounded

    seen: list[int] = []

    async def worker(i: int) -> None:
        seen.append(i)
        if i == 3:
            raise ValueError("boom")
        await asyncio.sleep(0)

    try:
        asyncio.run(run_bounded(range(1000), worker, 4))
    except ValueError as exc:
        assert str(exc) == "boom"
    else:
        raise AssertionError("the failure must propagate")
    assert len(seen) < 1000
