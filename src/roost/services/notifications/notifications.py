"""Notifications: created from events on the log, listed and dismissed by their recipient."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from roost.domain.entities import Notification
from roost.domain.ids import now_ms, shard_of
from roost.domain.pagination import Page
from roost.errors import NotFound
from roost.ports.database import Row
from roost.services.context import Backends
from roost.services.keyset import keyset


def _to_notification(row: Row) -> Notification:
    return Notification(
        id=row["id"],
        account_id=row["account_id"],
        type=row["type"],
        from_account_id=row["from_account_id"],
        status_id=row["status_id"] or None,
        created_at_ms=row["created_at"],
    )


class NotificationsService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends
        self._db = backends.db
        self.created = 0

    async def create(self, recipient: int, type_: str, from_account_id: int, status_id: int | None) -> None:
        if recipient == from_account_id:
            return
        added = await self._db.for_id(recipient).execute(
            "INSERT INTO notifications (id, account_id, type, from_account_id, status_id, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (self._b.ids.next_id(shard_of(recipient)), recipient, type_, from_account_id,
             status_id or 0, now_ms()),
        )
        self.created += added

    async def list(
        self,
        account_id: int,
        page: Page,
        types: Iterable[str] = (),
        exclude_types: Iterable[str] = (),
        from_account_id: int | None = None,
    ) -> list[Notification]:
        bounds, bound_params, order = keyset(page, "id")
        clauses = ["account_id = ?", *bounds]
        params: list[Any] = [account_id, *bound_params]
        wanted = list(types)
        if wanted:
            clauses.append(f"type IN ({','.join('?' * len(wanted))})")
            params += wanted
        unwanted = list(exclude_types)
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

    async def get(self, account_id: int, notification_id: int) -> Notification:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT * FROM notifications WHERE account_id = ? AND id = ?", (account_id, notification_id)
        )
        if row is None:
            raise NotFound()
        return _to_notification(row)

    async def dismiss(self, account_id: int, notification_id: int) -> None:
        removed = await self._db.for_id(account_id).execute(
            "DELETE FROM notifications WHERE account_id = ? AND id = ?", (account_id, notification_id)
        )
        if not removed:
            raise NotFound()

    async def clear(self, account_id: int) -> None:
        await self._db.for_id(account_id).execute(
            "DELETE FROM notifications WHERE account_id = ?", (account_id,)
        )

    async def remove_from(self, recipient: int, type_: str, from_account_id: int) -> None:
        """Withdraw a notification about an account (an answered follow request)."""
        await self._db.for_id(recipient).execute(
            "DELETE FROM notifications WHERE account_id = ? AND type = ? AND from_account_id = ? AND status_id = 0",
            (recipient, type_, from_account_id),
        )

    async def remove_about_status(self, recipient_ids: Iterable[int], status_id: int) -> None:
        for recipient in set(recipient_ids):
            await self._db.for_id(recipient).execute(
                "DELETE FROM notifications WHERE account_id = ? AND status_id = ?", (recipient, status_id)
            )
