"""Every repository one adapter family provides, as the services receive them.

One field per repository port (``ports/<area>.py``); ``runtime/backends.py`` fills
it with the chosen family's implementations.
"""

from __future__ import annotations

from dataclasses import dataclass

from roost.ports.accounts import (
    AccountRepository,
    FollowGraph,
    FollowRequests,
    KeyDirectory,
    OAuthRepository,
)
from roost.ports.notifications import NotificationRepository
from roost.ports.outbox import OutboxRepository
from roost.ports.search import SearchIndex
from roost.ports.statuses import Favourites, Reblogs, StatusCounts, StatusRepository, ThreadLinks


@dataclass
class Repositories:
    notifications: NotificationRepository
    search_index: SearchIndex
    outbox: OutboxRepository
    # statuses area
    statuses: StatusRepository
    thread_links: ThreadLinks
    reblogs: Reblogs
    favourites: Favourites
    status_counts: StatusCounts  # batches and recounts of the write-back policy (ports/counters.py)
    # accounts area (ports/accounts.py)
    accounts: AccountRepository
    keys: KeyDirectory
    follows: FollowGraph
    follow_requests: FollowRequests
    oauth: OAuthRepository
