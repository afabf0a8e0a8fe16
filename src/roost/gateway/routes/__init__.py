"""Route modules, one per API resource; importing them fills ``TABLE``."""

from roost.gateway.routes import (  # noqa: F401  (imported for their registrations)
    accounts,
    follow_requests,
    health,
    instance,
    notifications,
    oauth,
    search,
    statuses,
    timelines,
)
from roost.gateway.routes.table import TABLE

__all__ = ["TABLE"]
