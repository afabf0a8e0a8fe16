"""The composition root: every component of roost, registered with its dependencies,
and the Container they are built on."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from roost.errors import StorageIntegrityError
from roost.ports.database import Migration, ShardedDatabase
from roost.ports.timelines import TimelineStore
from roost.runtime.backends import close, migrations_for, open_backends
from roost.runtime.modules import Lifecycle, Module, Registry, Service
from roost.services.accounts import AccountsService, FollowsService, OAuthService
from roost.services.context import Backends
from roost.services.notifications import NotificationsService
from roost.services.outbox import Outbox
from roost.services.search import SearchService
from roost.services.statuses import InteractionsService, StatusesService
from roost.services.timelines import TimelinesService
from roost.settings import Settings
from roost.tasks import cancel_and_wait
from roost.workers import Consumer, FanoutWorker, IndexerWorker, NotifierWorker, RelationsWorker

T = TypeVar("T")


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

    # Typed access to the components, for code that needs one: a clear error when it
    # is not running in this process (``roost serve --target`` runs only some).

    @property
    def storage(self) -> Backends:
        return _running(self.backends, "backends")

    @property
    def outbox_service(self) -> Outbox:
        return _running(self.outbox, "outbox")

    @property
    def accounts_service(self) -> AccountsService:
        return _running(self.accounts, "accounts")

    @property
    def follows_service(self) -> FollowsService:
        return _running(self.follows, "follows")

    @property
    def oauth_service(self) -> OAuthService:
        return _running(self.oauth, "oauth")

    @property
    def statuses_service(self) -> StatusesService:
        return _running(self.statuses, "statuses")

    @property
    def interactions_service(self) -> InteractionsService:
        return _running(self.interactions, "interactions")

    @property
    def timelines_service(self) -> TimelinesService:
        return _running(self.timelines, "timelines")

    @property
    def notifications_service(self) -> NotificationsService:
        return _running(self.notifications, "notifications")

    @property
    def search_service(self) -> SearchService:
        return _running(self.search, "search")


def _running(component: T | None, name: str) -> T:
    if component is None:
        raise RuntimeError(f"component {name!r} is not running in this process")
    return component


def describe_steps(steps: Sequence[tuple[int, Migration]]) -> list[str]:
    """``component version on shards a, b`` per step, in order (for operators)."""
    shards: dict[tuple[str, int], list[str]] = {}
    for shard, m in steps:
        shards.setdefault((m.component, m.version), []).append(str(shard))
    return [f"{c} {v} on shard{'s' if len(on) > 1 else ''} {', '.join(on)}" for (c, v), on in shards.items()]


async def schema_problem(db: ShardedDatabase) -> str | None:
    """One line saying why the schema is not current, or None when it is."""
    missing = await db.unapplied(migrations_for(db))
    if not missing:
        return None
    steps = describe_steps(missing)
    shown = "; ".join(steps[:3]) + (f"; and {len(steps) - 3} more" if len(steps) > 3 else "")
    return f"the database schema is not current ({shown} not applied): run roost migrate"


class _Storage:
    def __init__(self, c: Container) -> None:
        self._c = c

    async def start(self) -> None:
        b = self._c.storage
        try:
            if self._c.settings.migrate_on_start:
                await b.db.migrate(migrations_for(b.db))  # under the migration lock, as roost migrate
            elif (problem := await schema_problem(b.db)) is not None:
                # One of several processes: migrating is roost migrate's job, run once.
                raise StorageIntegrityError(problem)
        except BaseException:
            await close(b)  # not started, so never stopped: release the files now
            raise
        # Recovery: publish events that committed but never reached the log.
        await self._c.outbox_service.flush_all()

    async def stop(self) -> None:
        await close(self._c.storage)


async def _init_storage(c: Container) -> Service:
    opened = await open_backends(c.settings)
    c.backends = opened.backends
    c.extras["storage_readiness"] = opened.readiness
    c.extras["read_your_writes"] = opened.read_your_writes
    c.extras["storage_collectors"] = opened.collectors
    c.outbox = Outbox(c.backends.db, c.backends.log, c.backends.failpoints, c.backends.repos.outbox)
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
    b = c.storage
    c.accounts = AccountsService(b, c.outbox_service)
    c.follows = FollowsService(b, c.accounts, c.outbox_service)
    c.oauth = OAuthService(b, c.accounts)
    return _Started(c.accounts.start)


async def _init_statuses(c: Container) -> Service:
    b = c.storage
    c.statuses = StatusesService(b, c.accounts_service, c.follows_service, c.oauth_service, c.outbox_service)
    c.interactions = InteractionsService(b, c.statuses, c.outbox_service)
    # The write-back flusher (a no-op when transactional) runs where statuses are served;
    # the storage's close flushes what is pending before the database closes.
    return _Started(c.statuses.counters.start)


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
            await cancel_and_wait(self._task)


async def _init_timelines(c: Container) -> Service:
    b = c.storage
    c.timelines = TimelinesService(b, c.accounts_service, c.follows_service, c.statuses_service)
    return _Warming(b.timelines)


async def _init_notifications(c: Container) -> None:
    c.notifications = NotificationsService(c.storage)


async def _init_search(c: Container) -> Service:
    c.search = SearchService(c.storage, c.accounts_service, c.statuses_service)
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
    b = c.storage
    sessions = c.extras.get("read_your_writes")
    if sessions is not None:  # the cluster shape with replicas
        handler = sessions.handled_on_primaries(handler)
    consumer = Consumer(b.log, group, handler, b.failpoints, before_commit=before_commit)
    c.consumers[group] = consumer
    return _ConsumerService(consumer)


async def _init_fanout(c: Container) -> Service:
    worker = FanoutWorker(c.storage.timelines, c.accounts_service, c.follows_service, c.timelines_service)
    c.extras["fanout"] = worker
    return _consumer(c, worker.group, worker.handle, c.storage.timelines.flush)


async def _init_notifier(c: Container) -> Service:
    worker = NotifierWorker(c.notifications_service)
    return _consumer(c, worker.group, worker.handle)


async def _init_indexer(c: Container) -> Service:
    worker = IndexerWorker(c.search_service, c.statuses_service)
    return _consumer(c, worker.group, worker.handle)


async def _init_relations(c: Container) -> Service:
    worker = RelationsWorker(c.statuses_service, c.interactions_service)
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
