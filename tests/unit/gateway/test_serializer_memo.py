"""The serializer's memos stay bounded by evicting their oldest entries, one at a time."""

from __future__ import annotations

import pytest

from roost.gateway import serializers
from roost.gateway.serializers import remember


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
