"""Typed settings, read once from the environment (``ROOST_*``) or given explicitly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

ENV_PREFIX = "ROOST_"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("data")
    # Public origin used in URLs of entities and Link headers; defaults to http://host:port.
    public_url: str = ""
    domain: str = ""
    title: str = "roost"
    logical_shards: int = 1024
    physical_shards: int = 4
    # Accounts with at least this many followers are merged into readers' home
    # timelines at read time instead of being fanned out on write.
    celebrity_threshold: int = 10_000
    timeline_max_items: int = 800
    # Home timelines held in memory in front of SQLite (~6.4 KB each when full).
    timeline_hot_lists: int = 50_000
    log_partitions: int = 8
    cache_max_items: int = 500_000
    cache_ttl_seconds: float = 300.0
    # On home timelines, a rendered status is reused for this long without re-reading
    # its author and reblogged original, whose counters there may lag by as much (0: off).
    render_cache_seconds: float = 1.0
    # Home timeline pages kept as sent, reused while none of their statuses nor the
    # viewer's favourites and reblogs changed (within render_cache_seconds; 0: off).
    page_memo_pages: int = 1024
    max_status_chars: int = 500
    # Request bodies (issue #8): read while streaming and cut at these limits, so no
    # body is ever held whole before its size is known. API routes take JSON and
    # forms (a status is 500 characters; a profile with fields a few KiB).
    max_body_bytes: int = 262_144
    # The unauthenticated forms: /oauth/*, /api/v1/apps, registration.
    max_auth_body_bytes: int = 16_384
    # Routes that accept uploads (media, avatars); they declare it in the endpoint table.
    max_media_body_bytes: int = 41_943_040
    # Form fields per request (urlencoded or multipart), and files per multipart request.
    max_form_fields: int = 1_000
    max_form_files: int = 8
    # A body with no new chunk for body_idle_seconds, or not complete within
    # body_timeout_seconds, is cut with 408 (slow-body attacks hold a worker's memory).
    body_idle_seconds: float = 10.0
    body_timeout_seconds: float = 60.0
    # Mastodon exempts loopback from its rate limits; so do we unless told otherwise.
    rate_limit_exempt_loopback: bool = True
    rate_limit_per_token: int = 300
    rate_limit_unauthenticated: int = 300
    rate_limit_window_seconds: int = 300
    registrations_per_ip: int = 5
    registrations_window_seconds: int = 1800
    registrations_open: bool = True
    # -- login protection (docs/SECURITY.md) --
    # Proxies whose X-Forwarded-For is believed (comma-separated IPs or CIDRs; "" trusts
    # none). Loopback only by default: the cluster shape puts nginx there. Rate limits
    # and the loopback exemption then apply to the client the proxy names.
    trusted_proxies: str = "127.0.0.0/8,::1"
    # Requests to the credential endpoints (POST /oauth/token, POST /oauth/authorize) per
    # client address and window: their own budget, apart from the general one.
    login_attempts_per_ip: int = 25
    login_attempts_window_seconds: int = 300
    # Per login name (username or e-mail, whichever was typed): this many failed
    # passwords are free, then each further one locks that login for base * 2^(n-1)
    # seconds, up to the cap; a success, or this long without a failure, forgets them.
    # Not exempt for loopback: it protects the account wherever the guesses come from.
    login_failures_before_lockout: int = 5
    login_lockout_base_seconds: float = 1.0
    login_lockout_max_seconds: float = 900.0
    login_failures_forget_seconds: float = 3600.0
    workers: int = 1
    # Status search (hard-search): how many of the viewer's own favourites, and as many
    # reblogs, newest first, one search may look through for matches (the rest of the
    # search is answered from the index). Bounds the work one query can cause.
    search_interactions_scanned: int = 20_000
    # Storage health (issue #8). /ready fails when the data directory's disk has less free
    # space than this: room for the WAL to grow until its next checkpoint, for a few
    # minutes of writes while the operator reacts, and for migrations at the next start.
    min_free_disk_bytes: int = 100 * 1024 * 1024
    # How long /ready reuses its write probes and disk reading (load balancers poll it).
    ready_cache_seconds: float = 1.0
    # Connection limits, enforced per server process (runtime/connections.py).
    # A keep-alive connection idle between requests is closed after this long.
    idle_timeout_seconds: float = 20.0
    # A request's line and headers must be in within this long of the connection
    # opening or of the request's first byte (slowloris); else 408 and close.
    header_timeout_seconds: float = 10.0
    # Request line plus headers; beyond it 431 (414 for the target alone).
    max_header_bytes: int = 16_384
    # Connections one client address may hold open (0: no cap). Above what one
    # client or the bench (wrk -c256) opens; raise it behind a reverse proxy.
    max_connections_per_ip: int = 512
    # Connections in all (also kept under the open-files limit).
    max_connections: int = 10_000
    # -- cluster shape: PostgreSQL shards (adapters/postgres, issue #9) --
    # The cluster.toml `roost cluster up` writes ("" = the embedded shape). Its shard count
    # is the number of physical shards (physical_shards applies to the embedded shape only).
    cluster_config: str = ""
    # asyncpg connections per node (each primary and each replica has its own pool).
    pg_pool_min_size: int = 1
    pg_pool_max_size: int = 10
    # Connecting to a node, and waiting for a free pooled connection, give up after this.
    pg_connect_timeout_seconds: float = 5.0
    # A statement running longer is cancelled by the server; the client gets 503.
    pg_statement_timeout_seconds: float = 10.0
    # A replica further behind its primary than this is skipped: reads go elsewhere.
    max_replica_lag_seconds: float = 5.0
    # How often each replica's replay position (and each primary's WAL position) is read.
    replica_check_interval_seconds: float = 0.5
    # Cache (issue #9): keep values in the in-process cache as bytes through their
    # codecs, as a shared cache (Redis) does - for tests and for measuring the
    # codec; off by default, since decoding on every hit only costs time in-process.
    cache_encode: bool = False
    # Shared state on one Redis (issue #9): home timelines, the celebrity set, worker-id
    # leases and rate-limit counters, shared by every process; redis://[:password@]host:port/db
    # ("": the embedded adapters, for one process per data directory).
    redis_url: str = ""
    # A worker-id lease in Redis lapses this long after its last renewal (renewed every third).
    worker_lease_ttl_seconds: float = 15.0
    # Status counters (issue #9 item 5; services/status_counters.py, docs/CACHING.md):
    # "transactional" counts favourites, reblogs and replies in the transaction of their
    # row (the embedded default); "write_back" (the cluster shape's default; embedded, it
    # needs redis_url) keeps the increments in
    # Redis and applies them in batches of counter_flush_batch every
    # counter_flush_interval_seconds: if Redis loses its memory, at most that interval of
    # increments is lost from the counters (the rows are not), repaired by a recount.
    # "" (the default): the shape's own default, as above.
    counter_policy: str = ""
    counter_flush_interval_seconds: float = 1.0
    counter_flush_batch: int = 1000
    failpoints: str = ""
    # Migrate the schema at start (under the migration lock): the one-process shape
    # (roost up). When processes are one of several (roost serve --target), they only
    # check that the schema is current and refuse to start otherwise: run roost migrate.
    migrate_on_start: bool = True
    # Sharding placement (issue #9): how a new account's logical shard is chosen and where
    # logical shards live (roost/domain/placements.py). hash (the default) | range | directory | geo.
    placement: str = "hash"
    # range: lower bounds of every range after the first, ascending ("h,p": three ranges).
    placement_ranges: str = ""
    # range: what is ranged, the lowercased username or the account's numeric key (username | key).
    placement_range_by: str = "username"
    # geo: each region's logical shards, "eu:0-511,us:512-1023".
    placement_regions: str = ""
    # geo: the region of an account registered without one (empty: the first region listed).
    placement_default_region: str = ""
    # directory: the logical -> physical table's JSON file (empty: shard-directory.json in data_dir).
    placement_directory: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        return f"http://{self.host}:{self.port}"

    @property
    def instance_domain(self) -> str:
        if self.domain:
            return self.domain
        return self.base_url.split("://", 1)[1]

    def with_overrides(self, **overrides: Any) -> Settings:
        clean = {k: v for k, v in overrides.items() if v is not None}
        return replace(self, **clean)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get(ENV_PREFIX + f.name.upper())
            if raw is None:
                continue
            values[f.name] = _parse(raw, f.default)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def to_env(self) -> dict[str, str]:
        """The environment that reproduces these settings in a child process."""
        out: dict[str, str] = {}
        for f in fields(self):
            if f.name == "extra":
                continue
            value = getattr(self, f.name)
            out[ENV_PREFIX + f.name.upper()] = str(int(value)) if isinstance(value, bool) else str(value)
        return out


def _parse(raw: str, default: Any) -> Any:
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        return int(raw)
    if isinstance(default, float):
        return float(raw)
    if isinstance(default, Path):
        return Path(raw)
    return raw
