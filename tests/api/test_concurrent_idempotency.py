"""Two posts with the same Idempotency-Key, racing: one status, both answers name it."""

from __future__ import annotations

import asyncio
from typing import Any

from roost.domain.entities import Identity

from .harness import Server


def test_racing_posts_with_one_idempotency_key_store_one_status(srv: Server) -> None:
    author = srv.quick_user("idem_racer")
    container = srv.container
    author_id = int(author.id)
    identity = Identity(token="", account_id=author_id, application_id=0, scopes=frozenset({"write"}))
    shard = container.backends.db.for_id(author_id)

    async def race() -> list[Any]:
        # Hold the author's shard: both requests look the key up, find nothing, and
        # queue for the write - a retry arriving while the first attempt is in flight.
        async with shard.transaction():
            both = asyncio.gather(*(
                container.statuses.create(identity, "posted once", idempotency_key="retry-1") for _ in range(2)
            ))
            await asyncio.sleep(0.01)
        return list(await both)

    first, second = srv.call(race)
    assert first.id == second.id
    srv.drain()
    assert [s["id"] for s in srv.get(f"/api/v1/accounts/{author.id}/statuses", author)] == [str(first.id)]
    assert srv.get(f"/api/v1/accounts/{author.id}", author)["statuses_count"] == 1
    # A later retry with the key still gets the same status.
    again = srv.client.post("/api/v1/statuses", headers={**author.headers, "Idempotency-Key": "retry-1"},
                            json={"status": "posted once"})
    assert again.status_code == 200 and again.json()["id"] == str(first.id)
