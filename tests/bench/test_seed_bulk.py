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
        store = container.storage.timelines
        return [i for i in ids if await store.exists(home_key(i))]
    finally:
        await stop(container)


async def status_ids(data_dir: Path) -> tuple[list[int], list[int]]:
    """(originals, reblogs) ids across every shard."""
    container = await start(Settings.from_env({}, data_dir=data_dir), ("statuses",))
    try:
        originals: list[int] = []
        reblogs: list[int] = []
        for shard in container.storage.db.shards:
            for row in await shard.fetch_all("SELECT id, reblog_of_id FROM statuses"):
                (originals if row["reblog_of_id"] is None else reblogs).append(row["id"])
        return originals, reblogs
    finally:
        await stop(container)


def test_reblogs_interleave_with_statuses(tmp_path: Path) -> None:
    plan = GraphParams(accounts=30, avg_follows=4, statuses=600, seed=3, reblogs_per_status=0.1)
    state = asyncio.run(seed_bulk(tmp_path, GraphPlan(plan), SeedOptions(warm_timelines=False)))
    originals, reblogs = asyncio.run(status_ids(tmp_path))
    assert len(originals) == 600 and len(reblogs) == state.seed_stats["reblogs"]["done"] > 30
    # Ids are time-ordered: reblogs were made all along, not after the last status.
    assert min(reblogs) < sorted(originals)[300]


@pytest.mark.parametrize("warm", [True, False])
def test_home_timelines_are_built_unless_asked_not_to(tmp_path: Path, warm: bool) -> None:
    options = SeedOptions(probe_authors=2, probe_followers=2, warm_timelines=warm)
    state = asyncio.run(seed_bulk(tmp_path, GraphPlan(PLAN), options))
    ids = [int(a.id) for a in state.accounts]
    assert len(ids) == 30
    built = asyncio.run(built_timelines(tmp_path, ids))
    assert built == (ids if warm else [])
    assert ("timelines" in state.seed_stats) is warm
