"""Two reblogs of the same status by the same account, racing: one wrapper, one count."""

from __future__ import annotations

import asyncio
from typing import Any

from roost.domain.entities import Identity

from .harness import Server


def test_racing_reblogs_store_one_wrapper(srv: Server) -> None:
    author, booster = srv.quick_user("race_author"), srv.quick_user("race_booster")
    post = srv.post(author, "boost me twice at once")
    container = srv.container
    booster_id = int(booster.id)
    identity = Identity(token="", account_id=booster_id, application_id=0, scopes=frozenset({"write"}))
    shard = container.backends.db.for_id(booster_id)

    async def race() -> list[Any]:
        # Hold the booster's shard so both requests queue behind the same write lock,
        # the way concurrent requests meet it under load.
        async with shard.transaction():
            both = asyncio.gather(*(container.interactions.reblog(identity, int(post["id"])) for _ in range(2)))
            await asyncio.sleep(0.01)
        return list(await both)

    first, second = srv.call(race)
    assert first.id == second.id
    srv.drain()
    status = srv.get(f"/api/v1/statuses/{post['id']}", author)
    assert status["reblogs_count"] == 1
    assert [a["id"] for a in srv.get(f"/api/v1/statuses/{post['id']}/reblogged_by", author)] == [booster.id]
    assert srv.get(f"/api/v1/accounts/{booster.id}", booster)["statuses_count"] == 1
    assert len(srv.get(f"/api/v1/accounts/{booster.id}/statuses", booster)) == 1
