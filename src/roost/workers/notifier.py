"""The notifier: turns events on the log into notifications for their recipients."""

from __future__ import annotations

from roost.ports.log import Record
from roost.services.notifications import NotificationsService


class NotifierWorker:
    group = "notifications"

    def __init__(self, notifications: NotificationsService) -> None:
        self._notifications = notifications

    async def handle(self, record: Record) -> None:
        event = record.event
        kind = event["type"]
        actor = event["account_id"]
        if kind == "status.created":
            if event.get("reblog_of_id") and event.get("reblog_of_account_id"):
                await self._notifications.create(
                    event["reblog_of_account_id"], "reblog", actor, event["reblog_of_id"]
                )
                return
            for mentioned in event.get("mention_ids") or []:
                await self._notifications.create(int(mentioned), "mention", actor, event["status_id"])
        elif kind == "status.deleted":
            await self._notifications.remove_about_status(
                [int(m) for m in event.get("mention_ids") or []], event["status_id"]
            )
        elif kind == "favourite.created":
            await self._notifications.create(event["status_account_id"], "favourite", actor, event["status_id"])
        elif kind == "follow.created":
            await self._notifications.create(event["target_id"], "follow", actor, None)
        elif kind == "follow_request.created":
            await self._notifications.create(event["target_id"], "follow_request", actor, None)
        elif kind == "follow_request.removed":
            await self._notifications.remove_from(event["target_id"], "follow_request", actor)
