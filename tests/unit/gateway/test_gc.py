"""Survivors of a full collection are frozen, so later full collections stay short."""

from __future__ import annotations

import gc

from roost.gateway.app import freeze_survivors


def test_only_a_full_collection_freezes_its_survivors() -> None:
    gc.unfreeze()
    try:
        kept = [[i] for i in range(1000)]  # noqa: F841  (long-lived, tracked objects)
        freeze_survivors("stop", {"generation": 1})
        freeze_survivors("start", {"generation": 2})
        assert gc.get_freeze_count() == 0
        freeze_survivors("stop", {"generation": 2})
        assert gc.get_freeze_count() >= 1000
    finally:
        gc.unfreeze()
