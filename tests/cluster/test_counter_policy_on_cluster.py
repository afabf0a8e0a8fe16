"""Status counters on the cluster shape (issue #9: "write-back for hot counters ... flushed in
batches"): with no counter_policy set, the cluster shape writes counters back through Redis.
A favourite's count is in the API's answer at once, waits in Redis as a delta, and lands in
the status's row on its PostgreSQL primary when the flusher runs; transactional, chosen
explicitly, still counts in the row's own transaction.

In-process servers on the session's migrated cluster (``roost_cluster``), each test with
accounts of its own; the database is read on the primaries, the pending deltas in Redis.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import redis as redis_py

from api.harness import wait_until
from cluster.conftest import Cluster
from cluster.test_roost_shape_api import ClusterServer, cluster_server, unique

FANS = 3
# Where the write-back deltas wait (adapters/redis/counter_deltas.py): pending, then in a batch.
DELTA_HASHES = ("roost:counters:pending", "roost:counters:batch")


@pytest.fixture
def redis(roost_cluster: Cluster) -> Iterator[redis_py.Redis]:
    layout = roost_cluster.topology
    client = redis_py.Redis(host=layout.redis.host, port=layout.redis.port, password=layout.redis_password())
    yield client
    client.close()


def favourites_in_postgres(cluster: Cluster, status_id: str) -> int:
    """The status's favourites_count in its row, on whichever primary holds it."""
    found = [row[0] for shard in cluster.topology.shards
             for row in cluster.sql(cluster.topology.primary(shard),
                                    "SELECT favourites_count FROM statuses WHERE id = $1", int(status_id))]
    assert len(found) == 1, found
    return int(found[0])


def pending(redis: redis_py.Redis, status_id: str) -> int:
    """The status's favourites delta still in Redis, pending or in a batch being applied."""
    return sum(int(redis.hget(key, f"{status_id}:favourites_count") or 0) for key in DELTA_HASHES)


def favourite_by_fans(srv: ClusterServer) -> str:
    """A new status favourited by FANS accounts; each answer counts its favourite at once."""
    post = srv.post(srv.quick_user(unique("author")), "favourite me")["id"]
    for n in range(FANS):
        fan = srv.quick_user(unique(f"fan{n}"))
        answer = srv.client.post(f"/api/v1/statuses/{post}/favourite", headers=fan.headers)
        assert answer.status_code == 200 and answer.json()["favourites_count"] == n + 1, answer.text
    assert srv.get(f"/api/v1/statuses/{post}")["favourites_count"] == FANS
    return str(post)


def test_the_cluster_default_writes_counters_back_and_the_stop_flushes_them(
        roost_cluster: Cluster, redis: redis_py.Redis, tmp_path: Any) -> None:
    # The default policy, with a flush interval no test reaches: only the stop flushes.
    with cluster_server(roost_cluster, tmp_path, counter_flush_interval_seconds=3600.0) as srv:
        post = favourite_by_fans(srv)
        assert pending(redis, post) == FANS  # seen by readers, not yet in the row
        assert favourites_in_postgres(roost_cluster, post) == 0
    assert pending(redis, post) == 0
    assert favourites_in_postgres(roost_cluster, post) == FANS


def test_the_flusher_lands_the_counts_in_postgresql_while_serving(
        roost_cluster: Cluster, redis: redis_py.Redis, tmp_path: Any) -> None:
    with cluster_server(roost_cluster, tmp_path, counter_flush_interval_seconds=0.1) as srv:
        post = favourite_by_fans(srv)
        wait_until(lambda: favourites_in_postgres(roost_cluster, post) == FANS and pending(redis, post) == 0,
                   30.0, "the flusher to apply the favourites in PostgreSQL")
        assert srv.get(f"/api/v1/statuses/{post}")["favourites_count"] == FANS  # not counted twice


def test_transactional_chosen_on_the_cluster_counts_in_the_row_at_once(
        roost_cluster: Cluster, redis: redis_py.Redis, tmp_path: Any) -> None:
    with cluster_server(roost_cluster, tmp_path, counter_policy="transactional") as srv:
        post = favourite_by_fans(srv)
        assert favourites_in_postgres(roost_cluster, post) == FANS
        assert pending(redis, post) == 0


def test_an_unknown_counter_policy_is_refused(roost_cluster: Cluster, tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="counter_policy"), \
            cluster_server(roost_cluster, tmp_path, counter_policy="sometimes"):
        pass
