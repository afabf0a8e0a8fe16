"""Fixtures for the API tests: one in-process server per module (see harness.py).

``shape`` runs a suite on both shapes (shapes.py): a module fixture that asks for it, and
passes it to ``running_server``, makes every test of the module run once per shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# state_root is a fixture: importing it here makes it one for these tests too.
from cluster.conftest import state_root, stop_everything
from roost.cluster import supervisor

from .harness import Server, running_server
from .shapes import EMBEDDED, SHAPES, ClusterEngines, Shape

__all__ = ["state_root"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("roost")) as server:
        yield server


@pytest.fixture(scope="module", params=SHAPES)
def shape(request: pytest.FixtureRequest) -> Shape:
    if request.param == EMBEDDED.name:
        return EMBEDDED
    # Asked for only here: a run that selects no cluster case starts no engines.
    return Shape(request.param, request.getfixturevalue("api_cluster"))


@pytest.fixture(scope="session")
def api_cluster(state_root: Path) -> Iterator[ClusterEngines]:
    """2 shard primaries, one streaming replica each, and Redis (fsync off: throw-away)."""
    state_dir = state_root / "api"
    try:
        yield ClusterEngines(state_dir, supervisor.up(state_dir, shards=2, replicas=1, fsync=False))
    finally:
        stop_everything(state_dir)
