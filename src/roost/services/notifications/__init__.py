"""The notifications service."""

from roost.services.notifications.notifications import NotificationsService

__all__ = ["NotificationsService"]
