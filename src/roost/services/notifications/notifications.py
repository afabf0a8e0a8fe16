"""Notifications: created from events on the log, listed and dismissed by their recipient."""

from __future__ import annotations

from collections.abc import Iterable

from roost.domain.entities import Notification
from roost.domain.ids import now_ms, shard_of
from roost.domain.pagination import Page
from roost.errors import NotFound
from roost.services.context import Backends


class NotificationsService:
    def __init__(self, backends: Backends) -> None:
        self._b = backends
        self._db = backends.db
        self._repo = backends.repos.notifications
        self.created = 0

    async def create(self, recipient: int, type_: str, from_account_id: int, status_id: int | None) -> None:
        if recipient == from_account_id:
            return
        notification = Notification(
            id=self._b.ids.next_id(shard_of(recipient)), account_id=recipient, type=type_,
            from_account_id=from_account_id, status_id=status_id or None, created_at_ms=now_ms(),
        )
        async with self._db.for_id(recipient).transaction() as tx:
            added = await self._repo.add(tx, notification)
        self.created += added

    async def list(
        self,
        account_id: int,
        page: Page,
        types: Iterable[str] = (),
        exclude_types: Iterable[str] = (),
        from_account_id: int | None = None,
    ) -> list[Notification]:
        return await self._repo.page(account_id, page, types, exclude_types, from_account_id)

    async def get(self, account_id: int, notification_id: int) -> Notification:
        notification = await self._repo.get(account_id, notification_id)
        if notification is None:
            raise NotFound()
        return notification

    async def dismiss(self, account_id: int, notification_id: int) -> None:
        async with self._db.for_id(account_id).transaction() as tx:
            removed = await self._repo.remove(tx, account_id, notification_id)
        if not removed:
            raise NotFound()

    async def clear(self, account_id: int) -> None:
        async with self._db.for_id(account_id).transaction() as tx:
            await self._repo.clear(tx, account_id)

    async def remove_from(self, recipient: int, type_: str, from_account_id: int) -> None:
        """Withdraw a notification about an account (an answered follow request)."""
        async with self._db.for_id(recipient).transaction() as tx:
            await self._repo.remove_from(tx, recipient, type_, from_account_id)

    async def remove_about_status(self, recipient_ids: Iterable[int], status_id: int) -> None:
        for recipient in set(recipient_ids):
            async with self._db.for_id(recipient).transaction() as tx:
                await self._repo.remove_about_status(tx, recipient, status_id)
