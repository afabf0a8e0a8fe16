"""SQL pieces the SQL repositories of both families share: keyset pagination (Mastodon's
max_id/since_id/min_id as WHERE and ORDER BY) and counters kept from going below zero."""

from __future__ import annotations

from typing import Any

from roost.domain.pagination import Page
from roost.ports.database import Executor


def keyset(page: Page, column: str) -> tuple[list[str], list[Any], str]:
    """Clauses and parameters bounding ``column`` to the page, and the scan order.

    ``min_id`` pages are read ascending (the rows just above it), then the caller
    returns them newest first.
    """
    clauses: list[str] = []
    params: list[Any] = []
    if page.max_id is not None:
        clauses.append(f"{column} < ?")
        params.append(page.max_id)
    if page.lower_bound is not None:
        clauses.append(f"{column} > ?")
        params.append(page.lower_bound)
    return clauses, params, "ASC" if page.ascending else "DESC"


async def pairs_page(
    db: Executor, table: str, owner_column: str, owner: int, cursor: str, other: str, page: Page
) -> list[tuple[int, int]]:
    """(cursor, other id) pairs of one owner's rows, newest first: follow lists, follow
    requests, favourites, reblogs."""
    clauses, params, order = keyset(page, cursor)
    where = " AND ".join([f"{owner_column} = ?", *clauses])
    rows = await db.fetch_all(
        f"SELECT {cursor} AS cursor, {other} AS other FROM {table} WHERE {where}"
        f" ORDER BY {cursor} {order} LIMIT ?",
        (owner, *params, page.limit),
    )
    return sorted(((r["cursor"], r["other"]) for r in rows), reverse=True)


def add_clamped(counter: str) -> str:
    """The SQL assignment that adds a delta to ``counter`` without going below zero.
    Binds the delta twice: pass ``(delta, delta)`` where it appears. ``counter`` is
    spliced in: callers check it against their own list of counters first."""
    return f"{counter} = CASE WHEN {counter} + ? < 0 THEN 0 ELSE {counter} + ? END"
