"""roost on the cluster shape, through its API (in-process servers on real engines):
/ready and /metrics, read-your-writes with the replicas held back, and a database that is
down answering 503 with Retry-After.

The servers share one migrated cluster (``roost_cluster``); each test makes accounts of its
own. Set-up that is not under test goes straight to the services and reads from the
primaries, so it never waits on replication.
"""

from __future__ import annotations

import contextlib
import inspect
import re
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from api.harness import BASE_URL, GENEROUS_LIMITS, Server, assert_error, wait_until
from cluster.conftest import Cluster, migrated_cluster
from roost.adapters.postgres.consistency import reading_after
from roost.cluster import processes, supervisor
from roost.gateway.app import create_app
from roost.runtime.read_your_writes import OnPrimaries
from roost.settings import Settings

# A replica is held back this long: far longer than the few requests that must see the lag.
APPLY_DELAY_MS = 5_000


class ClusterServer(Server):
    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        async def on_primaries() -> Any:
            with reading_after(OnPrimaries()):
                result = fn(*args, **kwargs)
                return await result if inspect.isawaitable(result) else result

        return self.client.portal.call(on_primaries)  # type: ignore[union-attr]


@contextlib.contextmanager
def cluster_server(cluster: Cluster, data_dir: Path, **overrides: Any) -> Iterator[ClusterServer]:
    settings = Settings(data_dir=data_dir, public_url=BASE_URL, cluster_config=str(cluster.state.config),
                        **{**GENEROUS_LIMITS, **overrides})
    with TestClient(create_app(settings), raise_server_exceptions=False, client=("testclient", 50000)) as client:
        yield ClusterServer(client)


def unique(name: str) -> str:
    return f"{name}{uuid.uuid4().hex[:8]}"


def metric(srv: Server, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for line in srv.client.get("/metrics").text.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match is None:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(1) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(2))
    return total


def ids(statuses: list[dict[str, Any]]) -> list[str]:
    return [s["id"] for s in statuses]


def test_ready_checks_every_primary_redis_and_the_log(roost_cluster: Cluster, tmp_path: Path) -> None:
    with cluster_server(roost_cluster, tmp_path) as srv:
        body = srv.client.get("/ready").json()
        assert body["status"] == "ready" and body["shape"] == "cluster", body
        primaries = [roost_cluster.topology.primary(s).name for s in roost_cluster.topology.shards]
        assert {name: body["checks"][name] for name in [*primaries, "redis", "log"]} == dict.fromkeys(
            [*primaries, "redis", "log"], "ok")
        for replica in (r for s in roost_cluster.topology.shards for r in roost_cluster.topology.replicas(s)):
            assert f'roost_pg_replica_lag_seconds{{node="{replica.name}"' in srv.client.get("/metrics").text


def test_a_user_registered_through_the_api_posts_and_is_read_back(roost_cluster: Cluster, tmp_path: Path) -> None:
    with cluster_server(roost_cluster, tmp_path) as srv:
        alice, bob = srv.register(unique("alice")), srv.register(unique("bob"))
        srv.follow(bob, alice)
        posted = srv.post(alice, "hello from the cluster #shape")["id"]
        srv.drain()
        assert ids(srv.get("/api/v1/timelines/home", bob)) == [posted]
        assert ids(srv.get(f"/api/v1/accounts/{alice.id}/statuses", bob)) == [posted]
        assert ids(srv.get("/api/v1/timelines/public", bob))[:1] == [posted]
        assert ids(srv.get(f"/api/v1/accounts/{alice.id}/statuses", bob, tagged="shape")) == [posted]


def test_the_author_reads_a_new_status_at_once_while_the_replicas_lag(
        roost_cluster: Cluster, tmp_path: Path) -> None:
    state_dir = roost_cluster.state_dir
    replicas = [r.name for s in roost_cluster.topology.shards for r in roost_cluster.topology.replicas(s)]
    # Lagging replicas stay readable (they are within the bound), so readers without a token use them.
    with cluster_server(roost_cluster, tmp_path, max_replica_lag_seconds=60.0,
                        replica_check_interval_seconds=0.1) as srv:
        author, viewer = srv.quick_user(unique("author")), srv.quick_user(unique("viewer"))
        srv.follow(viewer, author)
        for user in (author, viewer):
            assert srv.get("/api/v1/timelines/home", user) == []  # built before the delay
        try:
            for name in replicas:
                supervisor.set_apply_delay(state_dir, name, APPLY_DELAY_MS)
            on_primary = metric(srv, "roost_pg_read_your_writes_on_primary_total")
            status = srv.post(author, "fresh off the primary")["id"]
            # Another viewer has written nothing: its reads go to a replica, which has not
            # replayed the status yet (it is held back for seconds). (The status itself it may
            # see: rendering it for the author put it in the shared cache.)
            assert srv.get(f"/api/v1/accounts/{author.id}/statuses", viewer) == []
            # The author sees it at once: status, profile, home.
            assert srv.get(f"/api/v1/statuses/{status}", author)["id"] == status
            assert ids(srv.get(f"/api/v1/accounts/{author.id}/statuses", author)) == [status]
            srv.drain()
            assert ids(srv.get("/api/v1/timelines/home", author)) == [status]
            assert metric(srv, "roost_pg_read_your_writes_on_primary_total") > on_primary
            # The lag metric shows the delay while the replicas wait.
            wait_until(lambda: max(metric(srv, "roost_pg_replica_lag_seconds", node=n) for n in replicas) >= 1.0,
                       10.0, "the replicas' lag to show on /metrics")
            assert metric(srv, "roost_pg_replica_lag_bytes") > 0
        finally:
            for name in replicas:
                supervisor.set_apply_delay(state_dir, name, 0)
        # Released, the replicas replay it and the viewer reads it too.
        wait_until(lambda: ids(srv.get(f"/api/v1/accounts/{author.id}/statuses", viewer)) == [status],
                   30.0, "the viewer to read the status once the replicas replayed it")


@pytest.fixture
def lone_primary(state_root: Path) -> Iterator[Cluster]:
    """One shard, no replica: stopping its primary takes the database down."""
    with migrated_cluster(state_root / f"down-{uuid.uuid4().hex[:6]}", shards=1, replicas=0) as cluster:
        yield cluster


def test_a_database_that_is_down_answers_503_with_retry_after(lone_primary: Cluster, tmp_path: Path) -> None:
    with cluster_server(lone_primary, tmp_path, pg_connect_timeout_seconds=2.0, ready_cache_seconds=0.0) as srv:
        alice = srv.quick_user(unique("alice"))
        assert srv.post(alice, "before")["id"]
        primary = lone_primary.topology.primary(0)
        processes.stop(lone_primary.pid(primary.name), signal.SIGINT, 30)
        answer = srv.client.post("/api/v1/statuses", headers=alice.headers, json={"status": "while down"})
        assert_error(answer, 503)
        assert int(answer.headers["Retry-After"]) > 0
        read = srv.client.get(f"/api/v1/accounts/{alice.id}/statuses", headers=alice.headers)
        if read.status_code != 200:  # a cached page may still answer; a database read may not
            assert_error(read, 503)
        ready = srv.client.get("/ready")
        assert ready.status_code == 503 and ready.json()["checks"][primary.name] != "ok"
        supervisor.up(lone_primary.state_dir)  # back: the pools reconnect without a restart
        wait_until(lambda: srv.client.post("/api/v1/statuses", headers=alice.headers,
                                           json={"status": "after"}).status_code == 200,
                   30.0, "posting to work again")
