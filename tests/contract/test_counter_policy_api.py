"""The counter policy as roost runs it (``counter_policy`` with ``redis_url``), through
the API: favourites counted at once from Redis, in the database after the flusher's
round at stop; and the setting refused where it cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis as redis_py

from api.harness import running_server
from roost.cluster.scratch_redis import RedisServer


@pytest.fixture
def url(redis_fresh: RedisServer) -> str:
    return f"redis://:{redis_fresh.password}@{redis_fresh.host}:{redis_fresh.port}/0"


def test_write_back_counts_at_once_and_flushes_at_stop(tmp_path: Path, url: str, redis_fresh: RedisServer) -> None:
    plain = redis_py.Redis(host=redis_fresh.host, port=redis_fresh.port, password=redis_fresh.password)
    write_back = {"counter_policy": "write_back", "counter_flush_interval_seconds": 3600.0}
    with running_server(tmp_path, redis_url=url, **write_back) as srv:
        author = srv.quick_user("author")
        post = srv.post(author, "favourite me")["id"]
        for n in range(3):
            fan = srv.quick_user(f"fan{n}")
            r = srv.client.post(f"/api/v1/statuses/{post}/favourite", headers=fan.headers)
            assert r.status_code == 200 and r.json()["favourites_count"] == n + 1
        assert srv.get(f"/api/v1/statuses/{post}")["favourites_count"] == 3
        assert plain.hget("roost:counters:pending", f"{post}:favourites_count") == b"3"  # not flushed yet
    assert plain.hlen("roost:counters:pending") == 0  # the stop flushed it
    plain.flushall()
    with running_server(tmp_path) as srv:  # the embedded default, the database alone
        assert srv.get(f"/api/v1/statuses/{post}")["favourites_count"] == 3
    plain.close()


def test_write_back_without_redis_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="redis_url"), running_server(tmp_path, redis_url="", counter_policy="write_back"):
        pass
