"""The notifications service."""

from roost.services.notifications.notifications import NotificationsService
from roost.services.notifications.schema import MIGRATIONS

__all__ = ["MIGRATIONS", "NotificationsService"]
