"""Who may see a status (Mastodon answers 404 for anything invisible)."""

from __future__ import annotations

import pytest

from roost.domain.entities import Status
from roost.domain.visibility import can_view, listed_publicly, needs_relationship

AUTHOR, MENTIONED, FOLLOWER, STRANGER = 1, 2, 3, 4


def status(visibility: str, **kw: object) -> Status:
    return Status(id=100, account_id=AUTHOR, text="t", content="<p>t</p>", visibility=visibility,
                  mention_ids=(MENTIONED,), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("visibility", "viewer", "follows", "visible"),
    [
        ("public", None, False, True),
        ("unlisted", None, False, True),
        ("private", None, False, False),
        ("direct", None, False, False),
        ("private", AUTHOR, False, True),
        ("private", MENTIONED, False, True),
        ("private", FOLLOWER, True, True),
        ("private", STRANGER, False, False),
        ("direct", AUTHOR, False, True),
        ("direct", MENTIONED, False, True),
        ("direct", FOLLOWER, True, False),
        ("direct", STRANGER, False, False),
    ],
)
def test_can_view(visibility: str, viewer: int | None, follows: bool, visible: bool) -> None:
    assert can_view(status(visibility), viewer, follows) is visible


def test_needs_relationship_only_for_private_and_outsiders() -> None:
    assert needs_relationship(status("private"), FOLLOWER)
    assert not needs_relationship(status("private"), AUTHOR)
    assert not needs_relationship(status("private"), MENTIONED)
    assert not needs_relationship(status("private"), None)
    assert not needs_relationship(status("public"), FOLLOWER)
    assert not needs_relationship(status("direct"), FOLLOWER)


def test_listed_publicly() -> None:
    assert listed_publicly(status("public"))
    assert not listed_publicly(status("unlisted"))
    assert not listed_publicly(status("private"))
    assert not listed_publicly(status("public", reblog_of_id=5))
