"""OAuth scopes: parsing, expansion of top-level scopes, and the allow rule."""

from __future__ import annotations

import pytest

from roost.domain.scopes import (
    FOLLOW_SCOPES,
    READ_SCOPES,
    WRITE_SCOPES,
    InvalidScope,
    allows,
    expand,
    is_subset,
    parse_scopes,
)


def test_parse_accepts_spaces_and_plus_and_dedups_in_order() -> None:
    assert parse_scopes("read write+follow read") == ("read", "write", "follow")
    assert parse_scopes("read:statuses  write:statuses") == ("read:statuses", "write:statuses")


@pytest.mark.parametrize("raw", [None, "", "   "])
def test_parse_defaults(raw: str | None) -> None:
    assert parse_scopes(raw) == ("read",)
    assert parse_scopes(raw, default=("read", "write")) == ("read", "write")


@pytest.mark.parametrize("raw", ["admin", "read:everything", "READ", "read write bogus"])
def test_parse_rejects_unknown_scopes(raw: str) -> None:
    with pytest.raises(InvalidScope):
        parse_scopes(raw)


def test_expansion() -> None:
    assert expand(("read",)) >= READ_SCOPES
    assert not expand(("read",)) & WRITE_SCOPES
    assert expand(("write",)) >= WRITE_SCOPES
    assert expand(("follow",)) == FOLLOW_SCOPES | {"follow"}
    assert expand(("read:statuses",)) == {"read:statuses"}
    assert expand(("push",)) == {"push"}
    assert expand(frozenset({"read", "write"})) >= READ_SCOPES | WRITE_SCOPES


@pytest.mark.parametrize(
    ("granted", "required", "ok"),
    [
        (("read",), "read:statuses", True),
        (("read",), "write:statuses", False),
        (("write",), "write:favourites", True),
        (("read:statuses",), "read:statuses", True),
        (("read:statuses",), "read:accounts", False),
        (("read:statuses",), "write:statuses", False),
        (("write:statuses",), "read:statuses", False),
        (("follow",), "write:follows", True),
        (("follow",), "read:follows", True),
        (("follow",), "write:statuses", False),
        (("push",), "read:notifications", False),
        (("read", "write", "follow", "push"), "write:accounts", True),
    ],
)
def test_allows(granted: tuple[str, ...], required: str, ok: bool) -> None:
    assert allows(expand(granted), required) is ok


def test_subset() -> None:
    assert is_subset(("read:statuses",), ("read",))
    assert is_subset(("read", "write"), ("read", "write", "follow", "push"))
    assert is_subset(("write:follows",), ("follow",))
    assert not is_subset(("read",), ("read:statuses",))
    assert not is_subset(("write",), ("read",))
    assert not is_subset(("push",), ("read", "write", "follow"))
