"""Seed a running server through its public Mastodon API.

This is the mode that works against any shape (embedded or cluster, one URL
or a gateway in front of many processes), since it only needs HTTP: create
an OAuth app, register every account with an app token (the server returns
a user token), then follow, post, favourite and reblog as those users.

Requests run through one ``httpx.AsyncClient`` at a bounded concurrency
(default 32 in flight). Transient failures (429 with Retry-After, 5xx,
connection errors) are retried with backoff; posts carry a deterministic
Idempotency-Key, so a retried post is not stored twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

from roost.bench.graph import GraphPlan, InDegrees, PlannedStatus, ProbeSampler, celebrities_of
from roost.bench.pool import Progress, run_bounded
from roost.bench.state import BenchState, SeededAccount

SCOPES = "read write follow push"
OOB = "urn:ietf:wg:oauth:2.0:oob"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


# Statuses posted between two rounds of reblogs (see ``GraphPlan.reblog_schedule``).
_STATUS_BATCH = 200


class SeedError(RuntimeError):
    pass


@dataclass(frozen=True, slots=True)
class SeedOptions:
    concurrency: int = 32
    probe_authors: int = 20
    probe_followers: int = 10
    status_id_sample: int = 5000
    # Mark as celebrities the accounts with at least this many followers (the
    # server's own threshold) instead of the plan's top ``celebrities``.
    celebrity_threshold: int | None = None
    retries: int = 5
    timeout_s: float = 60.0
    # Build every seeded account's home timeline at the end, as a server with
    # active users has them; otherwise each reader's first read rebuilds it.
    warm_timelines: bool = True


def status_sample(ids: list[str], limit: int) -> list[str]:
    """An evenly spread, deterministic subset of ``ids``."""
    if len(ids) <= limit:
        return list(ids)
    step = len(ids) / limit
    return [ids[int(i * step)] for i in range(limit)]


class ApiSeeder:
    def __init__(self, client: httpx.AsyncClient, plan: GraphPlan, options: SeedOptions | None = None) -> None:
        self._client = client
        self._plan = plan
        self._opts = options or SeedOptions()
        self._accounts: dict[int, SeededAccount] = {}
        self._status_ids: dict[int, str] = {}
        self._client_id = ""
        self._client_secret = ""
        self._app_token = ""

    async def seed(self) -> BenchState:
        params = self._plan.params
        stats: dict[str, Any] = {}
        await self._create_app()

        progress = Progress("accounts", params.accounts)
        await run_bounded(range(params.accounts), lambda i: self._register(i, progress), self._opts.concurrency)
        stats["accounts"] = progress.finish()

        sampler = ProbeSampler(self._plan, self._opts.probe_authors, self._opts.probe_followers)
        degrees = InDegrees(params.accounts)
        progress = Progress("follows")
        await run_bounded(self._follow_jobs(sampler, degrees), lambda job: self._follow(job, progress),
                          self._opts.concurrency)
        stats["follows"] = progress.finish()
        stats["graph"] = degrees.shape()

        # Statuses go out a batch at a time, each batch followed by the reblogs
        # planned within it, so that reblogs interleave with statuses in time.
        progress = Progress("statuses", params.statuses)
        reblogged = Progress("reblogs")
        schedule = self._plan.reblog_schedule()
        planned = iter(self._plan.statuses())
        while batch := list(itertools.islice(planned, _STATUS_BATCH)):
            await run_bounded(batch, lambda s: self._post(s, progress), self._opts.concurrency)
            reblogs = [pair for s in batch for pair in schedule.pop(s.index, ())]
            await run_bounded(reblogs, lambda pair: self._interact("reblogs", pair, reblogged),
                              self._opts.concurrency)
        stats["statuses"] = progress.finish()
        stats["reblogs"] = reblogged.finish()
        stats["favourites"] = await self._interactions("favourites", self._plan.favourites())

        if self._opts.warm_timelines:
            progress = Progress("home timelines", params.accounts)
            await run_bounded(self._accounts.values(), lambda a: self._read_home(a, progress),
                              self._opts.concurrency)
            stats["timelines"] = progress.finish()

        ids = [self._status_ids[i] for i in sorted(self._status_ids)]
        return BenchState(
            params=params,
            accounts=[self._accounts[i] for i in range(params.accounts)],
            base_url=str(self._client.base_url).rstrip("/"),
            mode="api",
            created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            celebrities=celebrities_of(self._plan, degrees, self._opts.celebrity_threshold),
            status_ids=status_sample(ids, self._opts.status_id_sample),
            fanout_probes=sampler.result(),
            seed_stats=stats,
        )

    # -- steps ------------------------------------------------------------

    async def _create_app(self) -> None:
        app = await self._call("POST", "/api/v1/apps", json={
            "client_name": "roost-bench", "redirect_uris": OOB, "scopes": SCOPES,
        })
        self._client_id, self._client_secret = app["client_id"], app["client_secret"]
        token = await self._call("POST", "/oauth/token", data={
            "grant_type": "client_credentials", "client_id": self._client_id,
            "client_secret": self._client_secret, "scope": SCOPES,
        })
        self._app_token = token["access_token"]

    async def _read_home(self, account: SeededAccount, progress: Progress) -> None:
        response = await self._send("GET", "/api/v1/timelines/home?limit=1", token=account.token)
        progress.tick(response.status_code == 200)

    async def _register(self, index: int, progress: Progress) -> None:
        plan = self._plan
        response = await self._send("POST", "/api/v1/accounts", token=self._app_token, json={
            "username": plan.username(index), "email": plan.email(index),
            "password": plan.password(index), "agreement": True, "locale": "en",
        })
        if response.status_code == 422 and "ERR_TAKEN" in response.text:
            # Seeded before with the same seed: the password is derived, so log in.
            token = await self._call("POST", "/oauth/token", data={
                "grant_type": "password", "username": plan.email(index),
                "password": plan.password(index), "client_id": self._client_id,
                "client_secret": self._client_secret, "scope": SCOPES,
            })
        else:
            token = _json_or_raise(response)
        user_token = token["access_token"]
        me = await self._call("GET", "/api/v1/accounts/verify_credentials", token=user_token)
        self._accounts[index] = SeededAccount(index, str(me["id"]), plan.username(index), user_token)
        progress.tick()

    def _follow_jobs(self, sampler: ProbeSampler, degrees: InDegrees) -> Iterator[tuple[int, int]]:
        for follower, followees in self._plan.iter_follows():
            sampler.observe(follower, followees)
            degrees.observe(follower, followees)
            for followee in followees:
                yield follower, followee

    async def _follow(self, job: tuple[int, int], progress: Progress) -> None:
        follower, followee = job
        target = self._accounts[followee].id
        response = await self._send(
            "POST", f"/api/v1/accounts/{target}/follow", token=self._accounts[follower].token
        )
        progress.tick(response.is_success)

    async def _post(self, status: PlannedStatus, progress: Progress) -> None:
        seed = self._plan.params.seed
        response = await self._send(
            "POST", "/api/v1/statuses", token=self._accounts[status.author].token,
            json={"status": status.text, "visibility": "public"},
            headers={"Idempotency-Key": f"roost-bench-{seed}-{status.index}"},
        )
        if response.is_success:
            self._status_ids[status.index] = str(response.json()["id"])
        progress.tick(response.is_success)

    async def _interactions(self, kind: str, pairs: Iterator[tuple[int, int]]) -> dict[str, float]:
        progress = Progress(kind)

        async def one(pair: tuple[int, int]) -> None:
            await self._interact(kind, pair, progress)

        await run_bounded(pairs, one, self._opts.concurrency)
        return progress.finish()

    async def _interact(self, kind: str, pair: tuple[int, int], progress: Progress) -> None:
        account, status_index = pair
        status_id = self._status_ids.get(status_index)
        if status_id is None:
            progress.tick(False)
            return
        verb = "favourite" if kind == "favourites" else "reblog"
        response = await self._send(
            "POST", f"/api/v1/statuses/{status_id}/{verb}", token=self._accounts[account].token
        )
        progress.tick(response.is_success)

    # -- HTTP -------------------------------------------------------------

    async def _call(self, method: str, path: str, *, token: str | None = None,
                    json: Any = None, data: dict[str, str] | None = None) -> Any:
        return _json_or_raise(await self._send(method, path, token=token, json=json, data=data))

    async def _send(self, method: str, path: str, *, token: str | None = None, json: Any = None,
                    data: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        delay = 0.2
        for attempt in range(self._opts.retries + 1):
            try:
                response = await self._client.request(method, path, json=json, data=data, headers=all_headers)
            except httpx.TransportError as exc:
                if attempt == self._opts.retries:
                    raise SeedError(f"{method} {path}: {exc!r}") from exc
            else:
                if response.status_code not in _RETRY_STATUSES or attempt == self._opts.retries:
                    return response
                retry_after = response.headers.get("retry-after", "")
                if retry_after.isdigit():
                    delay = max(delay, float(retry_after))
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _json_or_raise(response: httpx.Response) -> Any:
    if not response.is_success:
        raise SeedError(
            f"{response.request.method} {response.request.url.path}: "
            f"{response.status_code} {response.text[:300]}"
        )
    return response.json()


async def seed_via_api(target: str, plan: GraphPlan, options: SeedOptions | None = None) -> BenchState:
    opts = options or SeedOptions()
    limits = httpx.Limits(max_connections=opts.concurrency, max_keepalive_connections=opts.concurrency)
    async with httpx.AsyncClient(base_url=target, timeout=opts.timeout_s, limits=limits) as client:
        return await ApiSeeder(client, plan, opts).seed()
