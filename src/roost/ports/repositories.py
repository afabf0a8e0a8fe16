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


@dataclass
class Repositories:
    # accounts area (ports/accounts.py)
    accounts: AccountRepository
    keys: KeyDirectory
    follows: FollowGraph
    follow_requests: FollowRequests
    oauth: OAuthRepository
