"""Fixtures for the end-to-end tests (helpers live in e2e_support.py and cluster_support.py).

``module_server`` runs on both shapes: the real-client suites (Mastodon.py, toot) use it, so each
of their tests runs once against `roost up` and once against `roost cluster up --shards 2
--replicas 1` (one cluster for the session, shared with the cluster-shape tests).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cluster_support import ClusterRoost
from e2e_support import RoostServer, User, register, running_roost

from roost.cluster import binaries

SHAPES = ["embedded", "cluster"]
# Replicas stay readable however far the read-your-writes test holds them back (default 5 s):
# that test needs reads to keep going to a replica that is behind.
CLUSTER_ENV = {"ROOST_MAX_REPLICA_LAG_SECONDS": "600"}


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., RoostServer]]:
    """Factory for servers; every server made is stopped at teardown."""
    made: list[RoostServer] = []

    def make(data_dir: Path | None = None, port: int | None = None) -> RoostServer:
        server = RoostServer(data_dir or tmp_path / f"data{len(made)}", port, tmp_path / "logs")
        made.append(server)
        return server

    yield make
    for server in made:
        server.stop()


@pytest.fixture
def server(make_server: Callable[..., RoostServer]) -> RoostServer:
    return make_server().start()


@pytest.fixture(scope="module", params=SHAPES)
def module_server(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoostServer | ClusterRoost]:
    if request.param == "cluster":
        yield request.getfixturevalue("cluster_roost")
        return
    with running_roost(tmp_path_factory.mktemp("roost")) as srv:
        yield srv


@pytest.fixture(scope="session")
def cluster_roost(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClusterRoost]:
    """`roost cluster up --shards 2 --replicas 1` for the session; `roost cluster down` and
    SIGKILL by recorded PID at the end, whatever happened."""
    missing = binaries.missing_engines()
    if missing:
        pytest.skip("cluster engines absent (`make engines` installs them): " + "; ".join(missing))
    # Not pytest's tmp_path: its folders are closed to other users, and the engines run as
    # `postgres` and `redis` when the tests run as root.
    root = Path(tempfile.mkdtemp(prefix="roost-e2e-cluster-"))
    root.chmod(0o711)
    logs = tmp_path_factory.mktemp("cluster-logs")  # kept by pytest (its last runs) to read
    cluster = ClusterRoost(root / "state", logs, shards=2, replicas=1, env=CLUSTER_ENV)
    try:
        yield cluster.up()
    finally:
        try:
            cluster.down()
        finally:
            for log in (root / "state" / "roost").glob("*.log"):
                shutil.copy(log, logs / log.name)
            shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def new_user() -> Iterator[Callable[..., User]]:
    """``new_user(base_url, username=None)`` registers a user; clients closed at teardown."""
    made: list[User] = []

    def make(base_url: str, username: str | None = None, **kwargs: Any) -> User:
        user = register(base_url, username, **kwargs)
        made.append(user)
        return user

    yield make
    for user in made:
        user.close()
