"""The serializer's memos: bounded by evicting their oldest entries, one at a time, and
valid by record version, not by object identity."""

from __future__ import annotations

import copy
from typing import TypeVar

import pytest

from roost.domain.entities import Account, Status
from roost.domain.versions import stamp
from roost.gateway import serializers
from roost.gateway.serializers import Serializer, remember

T = TypeVar("T")


def test_a_full_memo_drops_only_its_oldest_entry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serializers, "MEMO_LIMIT", 3)
    memo: dict[int, str] = {}
    for key in (1, 2, 3):
        remember(memo, key, f"v{key}")
    assert remember(memo, 4, "v4") == "v4"
    assert list(memo) == [2, 3, 4]
    # Replacing a key already there evicts nothing.
    remember(memo, 3, "v3'")
    assert memo == {2: "v2", 3: "v3'", 4: "v4"}
    for key in range(10, 20):
        remember(memo, key, "x")
    assert list(memo) == [17, 18, 19]


def _versioned(record: T) -> T:
    stamp(record)  # type: ignore[arg-type]
    return record


def test_memos_hold_for_equal_copies_and_refresh_when_the_version_moves() -> None:
    """A cache in another process hands back a new, equal copy on every read: the
    memos must keep serving it (by version), and must refresh when a record changes
    even if the memo still holds an object with the same id."""
    serializer = Serializer("https://example.test", render_ttl=1.0)
    author = _versioned(Account(1, "alice", followers_count=1))
    status = _versioned(Status(10, 1, "hi", "<p>hi</p>", favourites_count=0))
    first = serializer.render(status, {1: author}, {}, now=0.0)
    assert first is not None
    # Equal copies (decoded from the cache's bytes): the very same rendered entry.
    again = serializer.render(copy.deepcopy(status), {1: copy.deepcopy(author)}, {}, now=0.0)
    assert again is first
    assert serializer.account(copy.deepcopy(author)) is serializer.account(author)
    # A counter moved: a new version, rendered anew.
    counted = _versioned(Status(10, 1, "hi", "<p>hi</p>", favourites_count=1))
    fresh = serializer.render(counted, {1: author}, {}, now=0.0)
    assert fresh is not None and fresh is not first and b'"favourites_count":1' in fresh.head
    followed = _versioned(Account(1, "alice", followers_count=2))
    assert serializer.account(followed)["followers_count"] == 2
    rerendered = serializer.render(counted, {1: followed}, {}, now=0.0)
    assert rerendered is not None and b'"followers_count":2' in rerendered.head
    # Unversioned records (version 0) are never served from a memo.
    plain = Account(2, "bob")
    assert serializer.account(plain) is not serializer.account(Account(2, "bob", display_name="Bob"))
    assert serializer.account(Account(2, "bob", display_name="Bob"))["display_name"] == "Bob"
