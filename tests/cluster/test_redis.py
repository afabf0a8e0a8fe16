"""The cluster's Redis: password-protected, append-only, reachable with what cluster.toml names."""

from __future__ import annotations

import pytest
import redis

from .conftest import Cluster


def _client(cluster: Cluster, password: str | None) -> redis.Redis:
    layout = cluster.topology
    return redis.Redis.from_url(layout.redis_url(), password=password, socket_timeout=5)


def test_redis_answers_with_the_password_from_the_state_folder(cluster: Cluster) -> None:
    client = _client(cluster, cluster.topology.redis_password())
    try:
        client.set("roost:probe", "yes")
        assert client.get("roost:probe") == b"yes"
        assert client.info("replication")["role"] == "master"
        assert client.config_get("appendonly") == {"appendonly": "yes"}
        assert client.config_get("dir")["dir"] == str(cluster.state.data_dir("redis"))
    finally:
        client.close()


def test_redis_refuses_a_client_without_the_password(cluster: Cluster) -> None:
    client = _client(cluster, None)
    try:
        with pytest.raises(redis.AuthenticationError):
            client.get("roost:probe")
    finally:
        client.close()
