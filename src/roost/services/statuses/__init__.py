"""The statuses service: posting, reading, deleting, threads, favourites and reblogs."""

from roost.services.statuses.interactions import InteractionsService
from roost.services.statuses.statuses import StatusesService, created_event

__all__ = ["InteractionsService", "StatusesService", "created_event"]
