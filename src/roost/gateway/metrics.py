"""Prometheus metrics: HTTP requests per route, plus every building block's own
counters (cache, log consumers, fanout, outbox, rate limits), read at scrape time."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from roost.gateway.app import Gateway

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        # The process itself: CPU, memory, garbage collections.
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        self.requests = Counter(
            "roost_http_requests", "HTTP requests by route and status", ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "roost_http_request_duration_seconds", "Time to handle a request, by route",
            ["method", "route"], buckets=LATENCY_BUCKETS, registry=registry,
        )
        self._children: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    def observe(self, method: str, route: str, status: int, started: float) -> None:
        key = (method, route, status)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(method, route, str(status))
        child.inc()
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self._timers[(method, route)] = self.latency.labels(method, route)
        timer.observe(time.perf_counter() - started)


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
                                    value=len(container.need("accounts").celebrities()))
        rejected = sum(
            limiter.rejected
            for limiter in (self._gateway.per_token, self._gateway.per_ip, self._gateway.registrations)
        )
        yield CounterMetricFamily("roost_rate_limit_rejections", "Requests answered 429", value=rejected)


def render(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
