"""Notifications on the recipient's shard, for both SQL families. ``status_id`` 0 stands for
"about no status", so the uniqueness rule notifications_once (a unique index on SQLite, a
unique constraint on PostgreSQL) covers follows too (NULLs would never collide)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from roost.adapters.sql.keyset import keyset
from roost.adapters.sql.units import executor, storable
from roost.domain.entities import Notification
from roost.domain.pagination import Page
from roost.ports.database import Row, ShardedDatabase, Tx

_COLUMNS = "id, account_id, type, from_account_id, status_id, created_at"


def _to_notification(row: Row) -> Notification:
    return Notification(
        id=row["id"],
        account_id=row["account_id"],
        type=row["type"],
        from_account_id=row["from_account_id"],
        status_id=row["status_id"] or None,
        created_at_ms=row["created_at"],
    )


class SqlNotifications:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def add(self, tx: Tx, notification: Notification) -> bool:
        n = notification
        added = await executor(tx).execute(
            f"INSERT INTO notifications ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (n.id, n.account_id, n.type, n.from_account_id, n.status_id or 0, n.created_at_ms),
        )
        return added > 0

    async def page(
        self,
        account_id: int,
        page: Page,
        types: Iterable[str] = (),
        exclude_types: Iterable[str] = (),
        from_account_id: int | None = None,
    ) -> list[Notification]:
        clauses = ["account_id = ?"]
        params: list[Any] = [account_id]
        # Keyset pagination: min_id pages read the rows just above it, ascending.
        bounds, bound_params, order = keyset(page, "id")
        clauses += bounds
        params += bound_params
        # A type no notification can have (it holds a NUL) matches none, on either engine.
        asked = list(types)
        wanted = [t for t in asked if storable(t)]
        if asked and not wanted:
            return []
        if wanted:
            clauses.append(f"type IN ({','.join('?' * len(wanted))})")
            params += wanted
        unwanted = [t for t in exclude_types if storable(t)]
        if unwanted:
            clauses.append(f"type NOT IN ({','.join('?' * len(unwanted))})")
            params += unwanted
        if from_account_id is not None:
            clauses.append("from_account_id = ?")
            params.append(from_account_id)
        rows = await self._db.for_id(account_id).fetch_all(
            f"SELECT * FROM notifications WHERE {' AND '.join(clauses)} ORDER BY id {order} LIMIT ?",
            (*params, page.limit),
        )
        return sorted((_to_notification(r) for r in rows), key=lambda n: n.id, reverse=True)

    async def get(self, account_id: int, notification_id: int) -> Notification | None:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT * FROM notifications WHERE account_id = ? AND id = ?", (account_id, notification_id)
        )
        return None if row is None else _to_notification(row)

    async def remove(self, tx: Tx, account_id: int, notification_id: int) -> bool:
        removed = await executor(tx).execute(
            "DELETE FROM notifications WHERE account_id = ? AND id = ?", (account_id, notification_id)
        )
        return removed > 0

    async def clear(self, tx: Tx, account_id: int) -> None:
        await executor(tx).execute("DELETE FROM notifications WHERE account_id = ?", (account_id,))

    async def remove_from(self, tx: Tx, account_id: int, type_: str, from_account_id: int) -> None:
        await executor(tx).execute(
            "DELETE FROM notifications WHERE account_id = ? AND type = ? AND from_account_id = ? AND status_id = 0",
            (account_id, type_, from_account_id),
        )

    async def remove_about_status(self, tx: Tx, account_id: int, status_id: int) -> None:
        await executor(tx).execute(
            "DELETE FROM notifications WHERE account_id = ? AND status_id = ?", (account_id, status_id)
        )
