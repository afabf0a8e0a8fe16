"""What the cache-policy suites (test_write_through, test_write_back) build on: the
services over one family's backends, with the shared cache on a real Redis, as each
process of the cluster shape has them."""

from __future__ import annotations

from dataclasses import dataclass

from roost.adapters.redis.cache import RedisCache
from roost.cluster.scratch_redis import RedisServer
from roost.domain.entities import Account, Identity
from roost.services.accounts import AccountsService, FollowsService, OAuthService
from roost.services.cache_codecs import CODECS
from roost.services.context import Backends
from roost.services.outbox import Outbox
from roost.services.statuses import InteractionsService, StatusesService

# One key prefix per test: every "process" of a test shares it, tests do not.
CACHE_PREFIX = "policy-test:"


def share_redis_cache(b: Backends, redis: RedisServer) -> RedisCache:
    """Put ``b``'s cache on the test's Redis (closed with the backends)."""
    cache = RedisCache(redis.client(), CODECS, prefix=CACHE_PREFIX)
    b.cache = cache
    b.on_close.append(cache.close)
    return cache


@dataclass
class Services:
    backends: Backends
    accounts: AccountsService
    follows: FollowsService
    statuses: StatusesService
    interactions: InteractionsService

    async def person(self, name: str) -> Account:
        return await self.accounts.register(name, f"{name}@example.org", password_hash="h")

    @staticmethod
    def identity(account: Account) -> Identity:
        return Identity(f"token-{account.id}", account.id, 1, frozenset({"read", "write"}))


def services(b: Backends) -> Services:
    """The services over ``b`` as they are now (set the cache and the counter policy first)."""
    outbox = Outbox(b.db, b.log, b.failpoints, b.repos.outbox)
    accounts = AccountsService(b, outbox)
    follows = FollowsService(b, accounts, outbox)
    statuses = StatusesService(b, accounts, follows, OAuthService(b, accounts), outbox)
    return Services(b, accounts, follows, statuses, InteractionsService(b, statuses, outbox))
