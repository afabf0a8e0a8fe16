"""roost with ``redis_url`` set: its shared state on a real Redis, through the API.

Several servers on one Redis stand for several processes of one deployment.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis as redis_py

from api.harness import Server, assert_error, running_server
from roost.cluster.scratch_redis import RedisServer
from roost.domain.ids import worker_of


@pytest.fixture
def url(redis_fresh: RedisServer) -> str:
    return f"redis://:{redis_fresh.password}@{redis_fresh.host}:{redis_fresh.port}/0"


@pytest.fixture
def plain(redis_fresh: RedisServer) -> Iterator[redis_py.Redis]:
    with redis_py.Redis(host=redis_fresh.host, port=redis_fresh.port, password=redis_fresh.password) as client:
        yield client


def _home_ids(srv: Server, user: Any) -> list[str]:
    return [s["id"] for s in srv.get("/api/v1/timelines/home", user, limit=40)]


def test_home_timelines_live_in_redis_and_rebuild_after_it_loses_them(
        tmp_path: Path, url: str, plain: redis_py.Redis) -> None:
    with running_server(tmp_path, redis_url=url) as srv:
        alice, bob = srv.quick_user("alice"), srv.quick_user("bob")
        srv.follow(bob, alice)
        assert _home_ids(srv, bob) == []  # built (empty) on the first read
        posted = [srv.post(alice, f"hello {n}")["id"] for n in range(3)]
        srv.drain()
        assert _home_ids(srv, bob) == posted[::-1]  # fanned out into Redis
        assert plain.zcard(f"roost:tl:home:{bob.id}") == 3 + 1  # and the built marker
        # The lease behind every id is a Redis key while the server runs.
        worker = worker_of(int(posted[0]))
        assert plain.get(f"roost:worker:{worker}") is not None
        plain.flushall()  # Redis lost everything (a restart without persistence)
        assert _home_ids(srv, bob) == posted[::-1]  # rebuilt from the database
    assert plain.get(f"roost:worker:{worker}") is None  # released at stop


def test_celebrities_are_one_set_for_every_process(tmp_path: Path, url: str, plain: redis_py.Redis) -> None:
    with running_server(tmp_path, redis_url=url, celebrity_threshold=1) as srv:
        star, fan = srv.quick_user("star"), srv.quick_user("fan")
        assert _home_ids(srv, fan) == []
        srv.follow(fan, star)
        srv.drain()
        assert plain.smembers("roost:celebrities") == {str(star.id).encode()}
        status = srv.post(star, "to my one fan")["id"]
        srv.drain()
        # Not fanned out (a celebrity), merged at read time from the shared set.
        assert plain.zcard(f"roost:tl:home:{fan.id}") == 1
        assert _home_ids(srv, fan) == [status]


def test_rate_limits_count_across_processes(tmp_path: Path, url: str) -> None:
    limits = {"rate_limit_unauthenticated": 6, "rate_limit_exempt_loopback": False}
    with running_server(tmp_path / "a", redis_url=url, **limits) as one, \
            running_server(tmp_path / "b", redis_url=url, **limits) as two:
        answers = [srv.client.get("/api/v1/timelines/public") for srv in (one, two) * 4]
        remaining = [int(r.headers["X-RateLimit-Remaining"]) for r in answers]
        allowed = [r for r in answers if r.status_code == 200]
        # One budget: each answer, whichever process gave it, counts down the same counter,
        # and together they stop at the limit (alone, each would allow 6 of its 4).
        assert remaining == sorted(remaining, reverse=True)
        assert len(allowed) <= 6 and len(allowed) < len(answers)
        assert_error(answers[-1], 429)
        assert remaining[: len(allowed)] == list(range(remaining[0], remaining[0] - len(allowed), -1))


def test_two_processes_mint_under_different_worker_ids(tmp_path: Path, url: str) -> None:
    with running_server(tmp_path / "a", redis_url=url) as one, running_server(tmp_path / "b", redis_url=url) as two:
        ids = [int(srv.post(srv.quick_user(f"u{n}"), "hi")["id"]) for n, srv in enumerate((one, two))]
        assert worker_of(ids[0]) != worker_of(ids[1])
