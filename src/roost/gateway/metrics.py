"""Prometheus metrics: HTTP requests per route, plus every building block's own
counters (cache, log consumers, fanout, outbox, rate limits), read at scrape time."""

from __future__ import annotations

import bisect
import itertools
import math
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from roost.adapters.redis.outage import UNREACHABLE

if TYPE_CHECKING:
    from roost.gateway.app import Gateway

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class HttpMetrics(Collector):
    """Requests and latency per route, counted in plain integers and handed to
    Prometheus at scrape time.

    prometheus_client's own Counter and Histogram take a lock per update, which
    cost about as much as the rest of a cheap request here; the server handles
    requests on one event loop thread, so plain counters are exact.
    """

    def __init__(self, registry: CollectorRegistry) -> None:
        # The process itself: CPU, memory, garbage collections.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self._requests: dict[tuple[str, str, int], int] = {}
        # (method, route) -> [count in each bucket (and +Inf), sum of seconds]
        self._latency: dict[tuple[str, str], tuple[list[int], list[float]]] = {}
        registry.register(self)

    def observe(self, method: str, route: str, status: int, started: float) -> None:
        elapsed = time.perf_counter() - started
        key = (method, route, status)
        self._requests[key] = self._requests.get(key, 0) + 1
        series = self._latency.get((method, route))
        if series is None:
            series = self._latency[(method, route)] = ([0] * (len(LATENCY_BUCKETS) + 1), [0.0])
        series[0][bisect.bisect_left(LATENCY_BUCKETS, elapsed)] += 1
        series[1][0] += elapsed

    def collect(self) -> Iterator[Any]:
        requests = CounterMetricFamily(
            "roost_http_requests", "HTTP requests by route and status", labels=["method", "route", "status"]
        )
        for (method, route, status), count in list(self._requests.items()):
            requests.add_metric([method, route, str(status)], count)
        yield requests
        latency = HistogramMetricFamily(
            "roost_http_request_duration_seconds", "Time to handle a request, by route", labels=["method", "route"]
        )
        for (method, route), (counts, total) in list(self._latency.items()):
            cumulative = list(itertools.accumulate(counts))
            buckets = [(_bound(b), n) for b, n in zip((*LATENCY_BUCKETS, math.inf), cumulative, strict=True)]
            latency.add_metric([method, route], buckets, total[0])
        yield latency


def _bound(bucket: float) -> str:
    return "+Inf" if bucket == math.inf else repr(bucket)


class BuildingBlocks(Collector):
    """Reads the components' own counters when Prometheus scrapes."""

    def __init__(self, gateway: Gateway) -> None:
        self._gateway = gateway
        self.consumer_lag: dict[str, int] = {}

    def collect(self) -> Iterator[Any]:
        container = self._gateway.container
        if container is None or container.backends is None:
            return
        stats = container.backends.cache.stats()
        for name in ("hits", "misses", "evictions"):
            yield CounterMetricFamily(f"roost_cache_{name}", f"Cache {name}", value=stats.get(name, 0))
        yield GaugeMetricFamily("roost_cache_items", "Items in the cache", value=stats.get("size", 0))
        unreachable = CounterMetricFamily("roost_redis_unreachable",
                                          "Operations that found Redis down (served without it or refused 503)",
                                          labels=["component"])
        for component, count in sorted(UNREACHABLE.items()):
            unreachable.add_metric([component], count)
        yield unreachable
        lag = GaugeMetricFamily("roost_log_consumer_lag", "Records not yet processed", labels=["group"])
        processed = CounterMetricFamily("roost_log_consumer_processed", "Records processed", labels=["group"])
        errors = CounterMetricFamily("roost_log_consumer_errors", "Handler failures (retried)", labels=["group"])
        for group, consumer in container.consumers.items():
            lag.add_metric([group], self.consumer_lag.get(group, 0))
            processed.add_metric([group], consumer.processed)
            errors.add_metric([group], consumer.errors)
        yield from (lag, processed, errors)
        if container.outbox is not None:
            yield CounterMetricFamily("roost_outbox_relayed", "Events relayed to the log", value=container.outbox.relayed)
        fanout = container.extras.get("fanout")
        if fanout is not None:
            yield CounterMetricFamily("roost_fanout_deliveries", "Home timeline insertions", value=fanout.delivered)
        if container.timelines is not None:
            yield CounterMetricFamily("roost_timeline_rebuilds", "Home timelines rebuilt", value=container.timelines.rebuilds)
            yield GaugeMetricFamily("roost_celebrities", "Accounts merged at read time",
                                    value=container.accounts_service.celebrity_count)
        pages = self._gateway.serializer.pages
        yield CounterMetricFamily("roost_page_memo_hits", "Home pages reused as sent", value=pages.hits)
        yield CounterMetricFamily("roost_page_memo_misses", "Home pages spliced anew", value=pages.misses)
        rejected = sum(
            limiter.rejected
            for limiter in (self._gateway.per_token, self._gateway.per_ip, self._gateway.registrations,
                            self._gateway.logins)
        )
        yield CounterMetricFamily("roost_rate_limit_rejections", "Requests answered 429", value=rejected)
        if container.accounts is not None:
            yield CounterMetricFamily("roost_login_lockout_rejections", "Logins refused while locked after failures",
                                      value=container.accounts.login_throttle.rejected)


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
