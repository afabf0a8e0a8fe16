"""The cluster config file: layouts, round trip, and clear errors for files that are not a cluster."""

from __future__ import annotations

import itertools
import re
from dataclasses import replace
from pathlib import Path

import pytest

from roost.cluster import topology
from roost.cluster.supervisor import is_local, spare_ports
from roost.cluster.topology import PostgresNode, PostgresSettings, Topology, TopologyError


def _plan(shards: int = 2, replicas: int = 1) -> Topology:
    return topology.plan(shards, replicas, itertools.count(6000))


def test_plan_gives_each_shard_one_primary_and_its_replicas() -> None:
    layout = _plan(shards=2, replicas=2)
    assert layout.shards == [0, 1]
    assert [n.name for n in layout.replicas(1)] == ["pg-s1-n1", "pg-s1-n2"]
    assert layout.primary(1).name == "pg-s1-n0"
    assert len({n.port for n in layout.nodes} | {layout.redis.port}) == 7


def test_round_trip_keeps_every_node_and_setting(tmp_path: Path) -> None:
    layout = replace(_plan(), postgres=PostgresSettings(fsync=False, synchronous=True))
    layout = layout.replace_node(replace(layout.node("pg-s0-n1"), apply_delay_ms=250))
    path = tmp_path / "cluster.toml"
    topology.save(layout, path)
    loaded = topology.load(path)
    assert loaded == layout
    assert loaded.base == tmp_path


def test_remote_addresses_are_a_valid_cluster(tmp_path: Path) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(
        'version = 1\n[postgres]\nuser = "app"\ndatabase = "social"\n'
        '[[postgres.nodes]]\nname = "db-a"\nshard = 0\nrole = "primary"\nhost = "10.0.0.5"\nport = 5432\n'
        '[[postgres.nodes]]\nname = "db-b"\nshard = 0\nrole = "replica"\nhost = "db-b.internal"\nport = 5432\n'
        '[redis]\nname = "cache"\nhost = "10.0.0.9"\nport = 6379\n')
    layout = topology.load(path)
    assert layout.primary(0).host == "10.0.0.5"
    assert layout.dsn(layout.node("db-b")) == (
        f"postgresql://app@db-b.internal:5432/social?passfile={tmp_path}/secrets/pgpass")
    assert layout.redis_url() == "redis://10.0.0.9:6379/0"
    assert not is_local("10.0.0.5") and not is_local("db-b.internal")
    assert is_local("127.0.0.1") and is_local("::1") and is_local("localhost")


def test_ipv6_hosts_are_bracketed_in_urls() -> None:
    layout = topology.plan(1, 0, itertools.count(7000), host="::1")
    assert "@[::1]:7000/" in layout.dsn(layout.primary(0))


GOOD = ('version = 1\n[postgres]\n[[postgres.nodes]]\nname = "a"\nshard = 0\nrole = "primary"\n'
        'host = "127.0.0.1"\nport = 5000\n[redis]\nname = "r"\nhost = "127.0.0.1"\nport = 5001\n')


@pytest.mark.parametrize(("text", "message"), [
    ("not toml [", "not valid TOML"),
    (GOOD.replace("version = 1", "version = 2"), "version must be 1"),
    (GOOD.replace('role = "primary"', 'role = "leader"'), "role must be one of"),
    (GOOD.replace('role = "primary"', 'role = "replica"'), "exactly one primary"),
    (GOOD.replace("port = 5000", 'port = "5000"'), "port must be an integer"),
    (GOOD.replace("port = 5000", "port = 70000"), "out of range"),
    (GOOD.replace("port = 5001", "port = 5000"), "more than one node"),
    (GOOD.replace("shard = 0", "shard = 1"), "numbered 0..N-1"),
    (GOOD.replace('name = "a"', 'name = "A b"'), "lowercase letters"),
    (GOOD.replace('name = "r"', 'name = "a"'), "used twice"),
    (GOOD.replace("port = 5000", "port = 5000\nweight = 3"), "unknown keys ['weight']"),
    (GOOD.replace('host = "127.0.0.1"\nport = 5000\n', ""), "missing keys ['host', 'port']"),
    (GOOD.replace("port = 5000", "port = 5000\napply_delay_ms = 5"), "replicas only"),
    (GOOD.replace("[postgres]\n", "[postgres]\nfsync = 1\n"), "fsync must be true or false"),
    (GOOD.split("[redis]")[0], "[redis] is missing"),
])
def test_a_bad_config_file_is_refused_with_a_reason(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "cluster.toml"
    path.write_text(text)
    with pytest.raises(TopologyError, match=rf"{path}: .*{re.escape(message)}"):
        topology.load(path)


def test_a_missing_config_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(TopologyError, match="roost cluster up"):
        topology.load(tmp_path / "cluster.toml")


@pytest.mark.parametrize(("shards", "replicas"), [(0, 1), (1, -1)])
def test_plan_refuses_an_empty_shape(shards: int, replicas: int) -> None:
    with pytest.raises(TopologyError):
        topology.plan(shards, replicas, itertools.count(6000))


def test_spare_ports_do_not_repeat_within_a_plan() -> None:
    ports = spare_ports()
    drawn = [next(ports) for _ in range(20)]
    ports.close()
    assert len(set(drawn)) == 20


def test_an_unknown_node_name_is_an_error() -> None:
    with pytest.raises(TopologyError, match="no PostgreSQL node named 'zz'"):
        _plan().node("zz")
    with pytest.raises(TopologyError):
        _plan().replace_node(PostgresNode("zz", 0, "replica", "127.0.0.1", 1))
