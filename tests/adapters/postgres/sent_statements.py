"""The statements repositories really send to PostgreSQL, recorded at the driver, and their
plans: for the schema tests (each hot statement answered from its index)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from roost.adapters.postgres.database import PgDatabase


def record_sent(monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[Any, ...]]:
    """From now until ``monkeypatch.undo()``: every SELECT, UPDATE and DELETE with
    parameters that any asyncpg connection runs, with the first arguments it ran with."""
    sent: dict[str, tuple[Any, ...]] = {}
    for method in ("fetch", "fetchrow", "execute"):
        original = getattr(asyncpg.connection.Connection, method)

        async def recording(self: Any, query: str, *args: Any, _original: Any = original, **kw: Any) -> Any:
            if query.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")) and "$" in query:
                sent.setdefault(query, args)
            return await _original(self, query, *args, **kw)

        monkeypatch.setattr(asyncpg.connection.Connection, method, recording)
    return sent


async def plans_of(db: PgDatabase, sent: dict[str, tuple[Any, ...]]) -> dict[str, str]:
    """Each recorded statement's plan, on shard 0's primary."""
    plans: dict[str, str] = {}
    async with db.shards[0].primary.pool.acquire() as conn:
        for query, args in sent.items():
            plans[query] = "\n".join(r[0] for r in await conn.fetch("EXPLAIN " + query, *args))
    return plans
