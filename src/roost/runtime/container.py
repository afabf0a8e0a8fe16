"""The composition root: every component of roost, registered with its dependencies,
and the Container they are built on."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass, field
from typing import Any

from roost.ports.timelines import TimelineStore
from roost.runtime.backends import close, open_embedded, storage_readiness
from roost.runtime.modules import Lifecycle, Module, Registry, Service
from roost.runtime.shared_redis import use_redis
from roost.services import accounts as accounts_pkg
from roost.services import notifications as notifications_pkg
from roost.services import outbox as outbox_mod
from roost.services import search as search_pkg
from roost.services import statuses as statuses_pkg
from roost.services.accounts import AccountsService, FollowsService, OAuthService
from roost.services.context import Backends
from roost.services.notifications import NotificationsService
from roost.services.outbox import Outbox
from roost.services.search import SearchService
from roost.services.statuses import InteractionsService, StatusesService
from roost.services.timelines import TimelinesService
from roost.settings import Settings
from roost.workers import Consumer, FanoutWorker, IndexerWorker, NotifierWorker, RelationsWorker

MIGRATIONS = (
    *accounts_pkg.MIGRATIONS,
    *statuses_pkg.MIGRATIONS,
    *notifications_pkg.MIGRATIONS,
    *search_pkg.MIGRATIONS,
    *outbox_mod.MIGRATIONS,
)


@dataclass
class Container:
    settings: Settings
    backends: Backends | None = None
    outbox: Outbox | None = None
    accounts: AccountsService | None = None
    follows: FollowsService | None = None
    oauth: OAuthService | None = None
    statuses: StatusesService | None = None
    interactions: InteractionsService | None = None
    timelines: TimelinesService | None = None
    notifications: NotificationsService | None = None
    search: SearchService | None = None
    consumers: dict[str, Consumer] = field(default_factory=dict)
    lifecycle: Lifecycle | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    def need(self, name: str) -> Any:
        value = getattr(self, name)
        if value is None:
            raise RuntimeError(f"component {name!r} is not running in this process")
        return value


class _Storage:
    def __init__(self, c: Container) -> None:
        self._c = c

    async def start(self) -> None:
        b = self._c.need("backends")
        await b.db.migrate(MIGRATIONS)
        # Recovery: publish events that committed but never reached the log.
        await self._c.need("outbox").flush_all()

    async def stop(self) -> None:
        await close(self._c.need("backends"))


async def _init_storage(c: Container) -> Service:
    c.backends = open_embedded(c.settings)
    if c.settings.redis_url:
        await use_redis(c.backends)
    c.extras["storage_readiness"] = storage_readiness(c.backends)
    c.outbox = Outbox(c.backends.db, c.backends.log, c.backends.failpoints)
    return _Storage(c)


class _Started:
    """Adapts a component with only ``start()`` to the Service protocol."""

    def __init__(self, start: Any) -> None:
        self._start = start

    async def start(self) -> None:
        await self._start()

    async def stop(self) -> None:
        return None


async def _init_accounts(c: Container) -> Service:
    b = c.need("backends")
    c.accounts = AccountsService(b, c.need("outbox"))
    c.follows = FollowsService(b, c.accounts, c.need("outbox"))
    c.oauth = OAuthService(b, c.accounts)
    return _Started(c.accounts.start)


async def _init_statuses(c: Container) -> None:
    b = c.need("backends")
    c.statuses = StatusesService(b, c.need("accounts"), c.need("follows"), c.need("oauth"), c.need("outbox"))
    c.interactions = InteractionsService(b, c.statuses, c.need("outbox"))


class _Warming:
    """Warms the timeline store in the background: requests are served meanwhile
    (a list not yet warm is read from disk on its first request, as before)."""

    def __init__(self, store: TimelineStore) -> None:
        self._store = store
        self._task: asyncio.Task[int] | None = None

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._store.warm(), name="timelines:warm")

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


async def _init_timelines(c: Container) -> Service:
    b = c.need("backends")
    c.timelines = TimelinesService(b, c.need("accounts"), c.need("follows"), c.need("statuses"))
    return _Warming(b.timelines)


async def _init_notifications(c: Container) -> None:
    c.notifications = NotificationsService(c.need("backends"))


async def _init_search(c: Container) -> Service:
    c.search = SearchService(c.need("backends"), c.need("accounts"), c.need("statuses"))
    return _Started(c.search.start)


class _ConsumerService:
    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer

    async def start(self) -> None:
        await self.consumer.drain()  # catch up before serving
        self.consumer.start()

    async def stop(self) -> None:
        await self.consumer.stop()


def _consumer(c: Container, group: str, handler: Any, before_commit: Any = None) -> Service:
    b = c.need("backends")
    consumer = Consumer(b.log, group, handler, b.failpoints, before_commit=before_commit)
    c.consumers[group] = consumer
    return _ConsumerService(consumer)


async def _init_fanout(c: Container) -> Service:
    worker = FanoutWorker(c.need("backends").timelines, c.need("accounts"), c.need("follows"), c.need("timelines"))
    c.extras["fanout"] = worker
    return _consumer(c, worker.group, worker.handle, c.need("backends").timelines.flush)


async def _init_notifier(c: Container) -> Service:
    worker = NotifierWorker(c.need("notifications"))
    return _consumer(c, worker.group, worker.handle)


async def _init_indexer(c: Container) -> Service:
    worker = IndexerWorker(c.need("search"), c.need("statuses"))
    return _consumer(c, worker.group, worker.handle)


async def _init_relations(c: Container) -> Service:
    worker = RelationsWorker(c.need("statuses"), c.need("interactions"))
    return _consumer(c, worker.group, worker.handle)


def build_registry() -> Registry:
    r = Registry()
    r.register(Module("storage", _init_storage, targetable=False, description="ports and adapters"))
    r.register(Module("accounts", _init_accounts, ("storage",), description="accounts, follows, OAuth"))
    r.register(Module("statuses", _init_statuses, ("accounts",), description="posting, threads, favourites, reblogs"))
    r.register(Module("timelines", _init_timelines, ("statuses",), description="home, public, account timelines"))
    r.register(Module("notifications", _init_notifications, ("storage",), description="notifications"))
    r.register(Module("search", _init_search, ("statuses",), description="account and full-text status search"))
    r.register(Module("fanout-worker", _init_fanout, ("timelines",), description="fans statuses out to home timelines"))
    r.register(Module("notifier-worker", _init_notifier, ("notifications",), description="creates notifications from events"))
    r.register(Module("indexer-worker", _init_indexer, ("search",), description="feeds the search index"))
    r.register(Module("relations-worker", _init_relations, ("statuses",),
                      description="finishes threads, reblogs and favourites across shards"))
    # The gateway serves whichever services run in its process; its init lives with the app.
    r.register(Module("gateway", None, ("accounts", "statuses", "timelines", "notifications", "search"),
                      description="the Mastodon API edge"))
    r.register(Module("workers", None, ("fanout-worker", "notifier-worker", "indexer-worker", "relations-worker"),
                      description="group: every log consumer"))
    r.register(Module("all", None, ("gateway", "workers"), description="group: everything in one process"))
    return r


async def start(settings: Settings, targets: tuple[str, ...] = ("all",)) -> Container:
    container = Container(settings=settings)
    lifecycle = Lifecycle(build_registry().resolve(targets))
    container.lifecycle = lifecycle
    await lifecycle.start(container)
    return container


async def stop(container: Container) -> None:
    if container.lifecycle is not None:
        await container.lifecycle.stop()
