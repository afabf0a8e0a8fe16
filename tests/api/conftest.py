"""Fixtures for the API tests: one in-process server per module (see harness.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Server, running_server


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("roost")) as server:
        yield server
