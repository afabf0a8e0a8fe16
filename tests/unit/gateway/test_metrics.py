"""Per-route HTTP metrics: counted in plain integers, exposed in Prometheus's format."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from roost.gateway.metrics import LATENCY_BUCKETS, HttpMetrics


def scrape(registry: CollectorRegistry) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    out: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(generate_latest(registry).decode()):
        for sample in family.samples:
            out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return out


def test_requests_and_latency_buckets() -> None:
    registry = CollectorRegistry()
    metrics = HttpMetrics(registry)
    now = time.perf_counter()
    # Started this long before `now` (and observed a little later still).
    for ago, status in ((0.0005, 200), (0.001, 200), (0.03, 404), (10.0, 200)):
        metrics.observe("GET", "/api/v1/x", status, now - ago)
    metrics.observe("POST", "/api/v1/y", 201, now)
    samples = scrape(registry)

    requests = samples["roost_http_requests_total"]
    assert requests[(("method", "GET"), ("route", "/api/v1/x"), ("status", "200"))] == 3
    assert requests[(("method", "GET"), ("route", "/api/v1/x"), ("status", "404"))] == 1
    assert requests[(("method", "POST"), ("route", "/api/v1/y"), ("status", "201"))] == 1

    buckets = {
        dict(labels)["le"]: value
        for labels, value in samples["roost_http_request_duration_seconds_bucket"].items()
        if dict(labels)["route"] == "/api/v1/x"
    }
    assert len(buckets) == len(LATENCY_BUCKETS) + 1
    assert buckets["0.001"] == 1  # cumulative: le="0.001" holds the 0.5 ms request only
    assert buckets["0.05"] == 3
    assert buckets["2.5"] == 3 and buckets["+Inf"] == 4
    counts = samples["roost_http_request_duration_seconds_count"]
    assert counts[(("method", "GET"), ("route", "/api/v1/x"))] == 4
    total = samples["roost_http_request_duration_seconds_sum"][(("method", "GET"), ("route", "/api/v1/x"))]
    assert 10.0315 <= total < 10.1
