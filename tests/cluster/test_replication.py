"""Streaming replication between real PostgreSQL nodes: reads, status, held-back replay."""

from __future__ import annotations

import asyncpg
import pytest

from roost.cluster import supervisor
from roost.cluster.status import cluster_status
from roost.cluster.topology import PostgresNode

from .conftest import Cluster, replayed, wait_until


def _insert(cluster: Cluster, primary: PostgresNode, text: str) -> str:
    """Insert a row; the primary's WAL position after its commit."""
    cluster.sql(primary, "CREATE TABLE IF NOT EXISTS notes (id bigserial PRIMARY KEY, body text)")
    cluster.sql(primary, "INSERT INTO notes (body) VALUES ($1)", text)
    return str(cluster.value(primary, "SELECT pg_current_wal_lsn()::text"))


def _has(cluster: Cluster, node: PostgresNode, text: str) -> bool:
    return bool(cluster.value(node, "SELECT count(*) FROM notes WHERE body = $1", text))


def test_a_write_on_the_primary_is_read_on_the_replica(
        cluster: Cluster, primary: PostgresNode, replica: PostgresNode) -> None:
    lsn = _insert(cluster, primary, "hello replica")
    wait_until(lambda: replayed(cluster, replica, lsn), "the replica to replay the insert")
    assert _has(cluster, replica, "hello replica")


def test_the_replica_refuses_writes(cluster: Cluster, replica: PostgresNode) -> None:
    assert cluster.value(replica, "SELECT pg_is_in_recovery()") is True
    with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
        cluster.sql(replica, "CREATE TABLE nope (id int)")


def test_status_reports_roles_lsns_and_no_lag_once_caught_up(
        cluster: Cluster, primary: PostgresNode, replica: PostgresNode) -> None:
    lsn = _insert(cluster, primary, "status probe")
    wait_until(lambda: replayed(cluster, replica, lsn), "the replica to replay the insert")
    # The two nodes are asked at the same moment, so the primary may have written a little more.
    def statuses() -> dict[str, object]:
        return {s.name: s for s in cluster_status(cluster.state, cluster.topology)}

    wait_until(lambda: statuses()[replica.name].lag_bytes == 0, "lag 0 on an idle cluster")
    found = statuses()
    p, r, redis = found[primary.name], found[replica.name], found["redis"]
    assert (p.role, p.health, p.pid) == ("primary", "up", cluster.pid(primary.name).pid)
    assert p.address == f"127.0.0.1:{primary.port}"
    assert p.streaming == {replica.name: "streaming/async"}
    assert (r.role, r.health, r.configured_role) == ("replica", "up", "replica")
    assert r.lsn is not None and p.lsn is not None
    assert (r.lag_bytes, r.lag_seconds) == (0, 0.0)
    assert (redis.role, redis.health) == ("master", "up")


def test_apply_delay_holds_the_replica_back_until_released(
        cluster: Cluster, primary: PostgresNode, replica: PostgresNode) -> None:
    first = _insert(cluster, primary, "before the delay")
    wait_until(lambda: replayed(cluster, replica, first), "the replica to replay the first insert")
    supervisor.set_apply_delay(cluster.state_dir, replica.name, 3_600_000)
    try:
        wait_until(lambda: cluster.value(replica, "SHOW recovery_min_apply_delay") == "1h",
                   "the replica to reload its delay")
        held = _insert(cluster, primary, "held back")
        wait_until(lambda: bool(cluster.value(
            replica, "SELECT pg_last_wal_receive_lsn() >= $1::text::pg_lsn", held)),
            "the replica to receive the WAL it must not yet apply")
        assert not _has(cluster, replica, "held back")
        lagging = {s.name: s for s in cluster_status(cluster.state, cluster.topology)}[replica.name]
        assert lagging.lag_bytes is not None and lagging.lag_bytes > 0
        assert lagging.lag_seconds is not None and lagging.lag_seconds > 0
    finally:
        supervisor.set_apply_delay(cluster.state_dir, replica.name, 0)
    wait_until(lambda: replayed(cluster, replica, held), "the released replica to catch up")
    assert _has(cluster, replica, "held back")


def test_synchronous_replication_is_an_option_and_asynchronous_the_default(
        cluster: Cluster, primary: PostgresNode, replica: PostgresNode) -> None:
    assert cluster.value(primary, "SHOW synchronous_standby_names") == ""
    supervisor.up(cluster.state_dir, synchronous=True)
    try:
        wait_until(lambda: cluster.value(primary, "SHOW synchronous_standby_names")
                   == f'ANY 1 ("{replica.name}")', "the primary to reload its standby names")
        wait_until(lambda: cluster.value(
            primary, "SELECT sync_state FROM pg_stat_replication WHERE application_name = $1",
            replica.name) == "quorum", "the replica to count for synchronous commits")
        # A commit now returns only once the replica has flushed it, so the replica has flushed
        # at least everything written before the insert began.
        before = cluster.value(primary, "SELECT pg_current_wal_lsn()::text")
        _insert(cluster, primary, "synchronously")
        assert cluster.value(primary, "SELECT flush_lsn > $1::text::pg_lsn FROM pg_stat_replication",
                             before)
    finally:
        supervisor.up(cluster.state_dir, synchronous=False)
    wait_until(lambda: cluster.value(primary, "SHOW synchronous_standby_names") == "",
               "the primary to go back to asynchronous replication")
