"""Bulk seeding into a real embedded data directory, through the domain services."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from roost.bench.graph import GraphParams, GraphPlan
from roost.bench.seed_api import SeedOptions
from roost.bench.seed_bulk import seed_bulk
from roost.runtime.container import start, stop
from roost.services.timelines.timelines import home_key
from roost.settings import Settings

PLAN = GraphParams(accounts=30, avg_follows=4, statuses=40, seed=3)


async def built_timelines(data_dir: Path, ids: list[int]) -> list[int]:
    container = await start(Settings.from_env({}, data_dir=data_dir), ("timelines",))
    try:
        store = container.need("backends").timelines
        return [i for i in ids if await store.exists(home_key(i))]
    finally:
        await stop(container)


@pytest.mark.parametrize("warm", [True, False])
def test_home_timelines_are_built_unless_asked_not_to(tmp_path: Path, warm: bool) -> None:
    options = SeedOptions(probe_authors=2, probe_followers=2, warm_timelines=warm)
    state = asyncio.run(seed_bulk(tmp_path, GraphPlan(PLAN), options))
    ids = [int(a.id) for a in state.accounts]
    assert len(ids) == 30
    built = asyncio.run(built_timelines(tmp_path, ids))
    assert built == (ids if warm else [])
    assert ("timelines" in state.seed_stats) is warm
