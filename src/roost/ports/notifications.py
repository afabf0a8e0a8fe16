"""The notifications repository: a notification lives on its recipient's shard.

Consumers of the log are at-least-once, so ``add`` is idempotent by a uniqueness
rule of the store (recipient, type, sender, status), never by a check first.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from roost.domain.entities import Notification
from roost.domain.pagination import Page
from roost.ports.database import Tx


class NotificationRepository(Protocol):
    async def add(self, tx: Tx, notification: Notification) -> bool:
        """Store ``notification`` unless one with the same recipient, type, sender and
        status exists; True when it was stored."""
        ...

    async def page(
        self,
        account_id: int,
        page: Page,
        types: Iterable[str] = (),
        exclude_types: Iterable[str] = (),
        from_account_id: int | None = None,
    ) -> list[Notification]:
        """One page of the recipient's notifications, newest first."""
        ...

    async def get(self, account_id: int, notification_id: int) -> Notification | None: ...

    async def remove(self, tx: Tx, account_id: int, notification_id: int) -> bool:
        """Delete one of the recipient's notifications; False when there was none."""
        ...

    async def clear(self, tx: Tx, account_id: int) -> None: ...

    async def remove_from(self, tx: Tx, account_id: int, type_: str, from_account_id: int) -> None:
        """Delete the recipient's notification of ``type_`` from an account, about no status."""
        ...

    async def remove_about_status(self, tx: Tx, account_id: int, status_id: int) -> None: ...
