"""Fixtures for the end-to-end tests (helpers live in e2e_support.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import RoostServer, User, register, running_roost


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


@pytest.fixture(scope="module")
def module_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoostServer]:
    with running_roost(tmp_path_factory.mktemp("roost")) as srv:
        yield srv


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
