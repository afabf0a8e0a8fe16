from __future__ import annotations

import pytest

from roost.domain.usernames import is_reserved


@pytest.mark.parametrize("name", ["admin", "ADMIN", "Root", "postmaster", "_", "____"])
def test_reserved(name: str) -> None:
    assert is_reserved(name)


@pytest.mark.parametrize("name", ["", "alice", "admin_", "_root", "a_b", "rootless"])
def test_not_reserved(name: str) -> None:
    assert not is_reserved(name)
