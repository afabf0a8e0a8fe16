"""Fixtures for the fuzzing job: a real `roost up` (the e2e tests' helper) with a user in it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# The e2e helpers start and stop `roost up` exactly; tests/ is not a package, so reach them by path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))

from e2e_support import RoostServer, running_roost


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoostServer]:
    with running_roost(tmp_path_factory.mktemp("fuzz")) as server:
        yield server
