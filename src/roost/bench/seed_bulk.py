"""Seed embedded storage in bulk, through roost's own service layer.

The API seeder needs one HTTP request per follow edge: 10 million requests
for 100,000 accounts with 100 follows each. This mode opens the data
directory in-process with the same composition root as `roost up`
(:func:`roost.runtime.container.start`) and calls the services directly, so
the stored rows are exactly what the API would have stored (ids, shard
placement, directory keys, outbox events), never hand-written SQL:

- accounts: ``AccountsService.bulk_register`` (one shared password, hashed
  once: argon2 per account alone would take most of an hour);
- tokens: ``OAuthService.issue`` for one ``roost-bench`` app;
- follows: ``FollowsService.bulk_follow`` in batches (both sides, per shard,
  no events), then ``AccountsService.recount`` to set counters and the
  celebrity set;
- statuses, favourites, reblogs: the same ``create``/``favourite``/``reblog``
  calls the API makes, so mentions are resolved and events reach the log;
- the log consumers (fanout, notifications, search, relations) run in this process and
  are drained at the end, so a server started afterwards has no backlog.

The server must not be running on the same data directory meanwhile (SQLite
files are opened directly), and must later run with the same settings (for
instance the same number of physical shards); pass them with --config.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from roost.bench.graph import GraphPlan, InDegrees, ProbeSampler, celebrities_of
from roost.bench.pool import Progress
from roost.bench.seed_api import OOB, SCOPES, SeedOptions, status_sample
from roost.bench.state import BenchState, SeededAccount

if TYPE_CHECKING:
    from roost.domain.entities import Application, Identity
    from roost.runtime.container import Container

# Registration batch: big enough to amortise a transaction per shard, small
# enough to keep progress lines coming.
_ACCOUNT_BATCH = 5_000
_FOLLOW_BATCH = 200_000


def read_env_file(path: str | None) -> dict[str, str]:
    """``KEY=VALUE`` lines (``ROOST_*`` settings), ``#`` comments allowed."""
    if not path:
        return {}
    values: dict[str, str] = {}
    for raw in Path(path).read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        values[key.strip()] = value.strip().strip("'\"")
    return values


class BulkSeeder:
    def __init__(self, container: Container, plan: GraphPlan, options: SeedOptions) -> None:
        self._c = container
        self._plan = plan
        self._opts = options
        self._accounts: list[SeededAccount] = []
        self._ids: list[int] = []
        self._identities: list[Identity] = []
        self._status_ids: dict[int, int] = {}

    async def seed(self) -> BenchState:
        from roost.errors import RoostError

        params = self._plan.params
        stats: dict[str, Any] = {}
        consumers = list(self._c.consumers.values())
        # Drained explicitly between phases instead of interleaving with
        # the seeding: same work, no double reads of a partition.
        for consumer in consumers:
            await consumer.stop()

        oauth = self._c.oauth_service
        app: Application = await oauth.create_app("roost-bench", [OOB], SCOPES, None)
        stats["accounts"] = await self._register(app)

        sampler = ProbeSampler(self._plan, self._opts.probe_authors, self._opts.probe_followers)
        degrees = InDegrees(params.accounts)
        stats["follows"] = await self._follow(sampler, degrees)
        stats["graph"] = degrees.shape()
        await self._c.accounts_service.recount()

        progress = Progress("statuses", params.statuses)
        statuses = self._c.statuses_service
        interactions = self._c.interactions_service
        reblogs = self._plan.reblog_schedule()
        reblogged = Progress("reblogs")
        for planned in self._plan.statuses():
            try:
                status = await statuses.create(
                    self._identities[planned.author], planned.text, visibility="public",
                    idempotency_key=f"roost-bench-{params.seed}-{planned.index}",
                )
            except RoostError:
                progress.tick(False)
            else:
                self._status_ids[planned.index] = status.id
                progress.tick()
            for pair in reblogs.pop(planned.index, ()):
                reblogged.tick(await self._interact(interactions.reblog, pair))
        stats["statuses"] = progress.finish()
        stats["reblogs"] = reblogged.finish()

        favourited = Progress("favourites")
        for pair in self._plan.favourites():
            favourited.tick(await self._interact(interactions.favourite, pair))
        stats["favourites"] = favourited.finish()

        for consumer in consumers:
            progress = Progress(f"drain {consumer.group}")
            before = consumer.processed
            await consumer.drain()
            progress.tick(n=consumer.processed - before)
            stats[f"drain_{consumer.group}"] = progress.finish()

        if self._opts.warm_timelines:
            timelines = self._c.timelines_service
            progress = Progress("home timelines", len(self._ids))
            for account_id in self._ids:
                await timelines.rebuild_home(account_id)
                progress.tick()
            stats["timelines"] = progress.finish()

        ids = [str(self._status_ids[i]) for i in sorted(self._status_ids)]
        return BenchState(
            params=params,
            accounts=self._accounts,
            base_url=None,
            mode="bulk",
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            celebrities=celebrities_of(self._plan, degrees, self._opts.celebrity_threshold),
            status_ids=status_sample(ids, self._opts.status_id_sample),
            fanout_probes=sampler.result(),
            seed_stats=stats,
        )

    async def _interact(
        self, call: Callable[[Identity, int], Awaitable[Any]], pair: tuple[int, int]
    ) -> bool:
        from roost.errors import RoostError

        account, status_index = pair
        status_id = self._status_ids.get(status_index)
        if status_id is None:
            return False
        try:
            await call(self._identities[account], status_id)
        except RoostError:
            return False
        return True

    async def _register(self, app: Application) -> dict[str, float]:
        from roost.domain.entities import Identity
        from roost.domain.scopes import expand
        from roost.errors import NotFound

        accounts = self._c.accounts_service
        oauth = self._c.oauth_service
        plan = self._plan
        params = plan.params
        # One password for every bench account, hashed once (see module docs).
        password_hash = await accounts.hash_password(f"roost-bench-{params.seed}")
        scopes = expand(app.scopes)
        progress = Progress("accounts", params.accounts)
        for start in range(0, params.accounts, _ACCOUNT_BATCH):
            indices = range(start, min(start + _ACCOUNT_BATCH, params.accounts))
            people = [(plan.username(i), plan.email(i), "") for i in indices]
            created = {a.username: a for a in await accounts.bulk_register(people, password_hash)}
            for i in indices:
                username = plan.username(i)
                account = created.get(username)
                if account is None:
                    # Seeded into this directory before: reuse the account.
                    try:
                        account = await accounts.lookup(username)
                    except NotFound:
                        raise RuntimeError(f"could not register {username}") from None
                token = await oauth.issue(app, account.id, app.scopes)
                self._ids.append(account.id)
                self._identities.append(Identity(token.token, account.id, app.id, scopes))
                self._accounts.append(SeededAccount(i, str(account.id), username, token.token))
            progress.tick(n=len(indices))
        return progress.finish()

    async def _follow(self, sampler: ProbeSampler, degrees: InDegrees) -> dict[str, float]:
        follows = self._c.follows_service
        progress = Progress("follows")
        for batch in self._follow_batches(sampler, degrees):
            await follows.bulk_follow(batch)
            progress.tick(n=len(batch))
        return progress.finish()

    def _follow_batches(self, sampler: ProbeSampler, degrees: InDegrees) -> Iterator[list[tuple[int, int]]]:
        ids = self._ids
        batch: list[tuple[int, int]] = []
        for follower, followees in self._plan.iter_follows():
            sampler.observe(follower, followees)
            degrees.observe(follower, followees)
            fid = ids[follower]
            batch.extend((fid, ids[f]) for f in followees)
            if len(batch) >= _FOLLOW_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch


async def seed_bulk(data_dir: Path, plan: GraphPlan, options: SeedOptions | None = None,
                    config: str | None = None) -> BenchState:
    # Imported here: only this mode needs the server's own code, and `roost
    # bench run` against a remote cluster must not.
    from roost.runtime.container import start, stop
    from roost.settings import Settings

    settings = Settings.from_env({**os.environ, **read_env_file(config)}, data_dir=data_dir)
    container = await start(settings, ("statuses", "workers"))
    try:
        sessions = container.extras.get("read_your_writes")
        if sessions is None:
            return await BulkSeeder(container, plan, options or SeedOptions()).seed()
        # The cluster shape: the seeder reads back what it has just written (a status
        # right after creating it), which a replica may not have replayed yet.
        with sessions.on_primaries():
            return await BulkSeeder(container, plan, options or SeedOptions()).seed()
    finally:
        await stop(container)
