"""A cluster's life: idempotent up, a dead node restarted, promotion, down by PID, up again.

These tests change the cluster they use, so they get their own: two shards, one replica each.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from roost.cluster import processes, supervisor, topology
from roost.cluster.status import cluster_status
from roost.cluster.topology import TopologyError

from .conftest import Cluster, replayed, stop_everything, wait_until


@pytest.fixture(scope="module")
def own(state_root: Path) -> Iterator[Cluster]:
    state_dir = state_root / "lifecycle"
    try:
        yield Cluster(state_dir, supervisor.up(state_dir, shards=2, replicas=1, fsync=False))
    finally:
        stop_everything(state_dir)


def _postmasters(state_dir: Path) -> list[int]:
    """Every PostgreSQL postmaster on this machine serving a data folder in ``state_dir``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "ppid"]):
        cmdline = proc.info["cmdline"] or []
        if (len(cmdline) >= 3 and cmdline[0].endswith("/postgres") and cmdline[1] == "-D"
                and cmdline[2].startswith(str(state_dir))):
            found.append(proc.pid)
    return sorted(found)


def _redis_servers(port: int) -> list[int]:
    """Every redis-server on this machine listening on ``port`` (it shows host:port as its title)."""
    return [proc.pid for proc in psutil.process_iter(["name", "cmdline"])
            if proc.info["name"] == "redis-server"
            and (proc.info["cmdline"] or [""])[0].endswith(f":{port}")]


def _health(cluster: Cluster) -> dict[str, str]:
    layout = topology.load(cluster.state.config)
    return {s.name: s.health for s in cluster_status(cluster.state, layout)}


def test_up_twice_leaves_one_set_of_processes(own: Cluster) -> None:
    before = own.state.read_pids()
    assert len(_postmasters(own.state_dir)) == 4
    again = supervisor.up(own.state_dir)
    assert again == own.topology
    assert own.state.read_pids() == before
    assert _postmasters(own.state_dir) == sorted(r.pid for n, r in before.items() if n != "redis")
    assert _redis_servers(own.topology.redis.port) == [before["redis"].pid]
    assert all(processes.alive(r) for r in before.values())


def test_up_refuses_to_change_the_shape_of_an_existing_cluster(own: Cluster) -> None:
    with pytest.raises(TopologyError, match="already describes 2 shard"):
        supervisor.up(own.state_dir, shards=3)


def test_a_dead_replica_is_restarted_by_up_and_streams_again(own: Cluster) -> None:
    replica = own.topology.replicas(0)[0]
    dead = own.pid(replica.name)
    processes.stop(dead, signal.SIGKILL, 10)
    assert _health(own)[replica.name] == "down"
    supervisor.up(own.state_dir)
    restarted = own.pid(replica.name)
    assert restarted != dead and processes.alive(restarted)
    primary = own.topology.primary(0)
    own.sql(primary, "CREATE TABLE after_restart (n int)")
    lsn = own.value(primary, "SELECT pg_current_wal_lsn()::text")
    wait_until(lambda: replayed(own, replica, lsn), "the restarted replica to stream again")
    assert own.value(replica, "SELECT count(*) FROM after_restart") == 0


def test_a_dead_primary_is_restarted_by_up(own: Cluster) -> None:
    primary = own.topology.primary(1)
    own.sql(primary, "CREATE TABLE survives (v text)")
    own.sql(primary, "INSERT INTO survives VALUES ('kept')")
    processes.stop(own.pid(primary.name), signal.SIGKILL, 10)
    supervisor.up(own.state_dir)
    assert own.value(primary, "SELECT v FROM survives") == "kept"
    assert set(_health(own).values()) == {"up"}


def test_redis_stopped_is_restarted_with_its_data(own: Cluster) -> None:
    client = redis.Redis.from_url(own.topology.redis_url(), password=own.topology.redis_password())
    try:
        client.set("kept", "across restarts")
        before = own.pid("redis")
        processes.stop(before, signal.SIGTERM, 10)
        supervisor.up(own.state_dir)
        assert own.pid("redis") != before
        assert client.get("kept") == b"across restarts"
    finally:
        client.close()


def test_promote_makes_the_replica_the_primary_and_fences_the_old_one(own: Cluster) -> None:
    former, replica = own.topology.primary(1), own.topology.replicas(1)[0]
    own.sql(former, "CREATE TABLE before_failover (v text)")
    own.sql(former, "INSERT INTO before_failover VALUES ('replicated')")
    lsn = own.value(former, "SELECT pg_current_wal_lsn()::text")
    wait_until(lambda: replayed(own, replica, lsn), "the replica to replay before promotion")
    former_pid = own.pid(former.name)

    layout = supervisor.promote(own.state_dir, replica.name)

    assert layout.primary(1).name == replica.name
    assert former.name not in {n.name for n in layout.nodes}
    assert topology.load(own.state.config) == layout
    assert not processes.alive(former_pid)
    assert own.value(replica, "SELECT pg_is_in_recovery()") is False
    own.sql(replica, "INSERT INTO before_failover VALUES ('written after')")
    assert own.value(replica, "SELECT count(*) FROM before_failover") == 2
    status = {s.name: s for s in cluster_status(own.state, layout)}[replica.name]
    assert (status.role, status.configured_role, status.health) == ("primary", "primary", "up")
    with pytest.raises(TopologyError, match="already its shard's primary"):
        supervisor.promote(own.state_dir, replica.name)


def test_down_stops_every_pid_and_up_brings_the_cluster_back(own: Cluster) -> None:
    records = own.state.read_pids()
    live = {name for name, r in records.items() if processes.alive(r)}
    stopped = supervisor.down(own.state_dir)
    assert set(stopped) == live
    assert not any(processes.alive(r) for r in records.values())
    assert _postmasters(own.state_dir) == []
    assert set(_health(own).values()) == {"down"}
    assert supervisor.down(own.state_dir) == []

    layout = supervisor.up(own.state_dir)
    assert set(_health(own).values()) == {"up"}
    assert own.value(layout.primary(1), "SELECT count(*) FROM before_failover") == 2
