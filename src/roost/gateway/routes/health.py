"""Operational routes: liveness, readiness, the OpenAPI document and default images."""

from __future__ import annotations

import base64

from starlette.responses import PlainTextResponse, Response

from roost.gateway.context import Call
from roost.gateway.openapi import BINARY, OPENAPI_DOCUMENT, READY, TEXT
from roost.gateway.routes.table import TABLE

# A 1x1 grey PNG: Mastodon clients expect avatar/header URLs that resolve.
MISSING_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mO8+R8AAoQBv5mnvxwAAAAASUVORK5CYII="
)


@TABLE.add("GET", "/health", "Liveness: the process answers", response=TEXT, tag="operations", content_type="text/plain")
async def health(call: Call) -> Response:
    return PlainTextResponse("OK")


@TABLE.add("GET", "/ready", "Readiness: storage writable (every file, or every shard primary and Redis), disk space left, the log reachable",
           response=READY, tag="operations")
async def ready(call: Call) -> Response:
    services = call.services
    checks: dict[str, str] = {}
    storage_ok = True
    disk: dict[str, int | None] = {}
    readiness = services.extras.get("storage_readiness")
    if readiness is not None:
        # Write probes and the disk reading, reused for ready_cache_seconds.
        report = await readiness.check()
        storage_ok = report.ok
        failing = [f"{name}: {state}" for name, state in report.checks.items() if state != "ok"]
        checks["storage"] = "ok" if storage_ok else "; ".join(failing)
        checks.update(report.checks)
        disk = {"free_bytes": report.free_disk_bytes, "min_free_bytes": report.min_free_disk_bytes}
    else:
        backends = services.storage
        try:
            await backends.db.ping()
            checks["storage"] = "ok"
        except Exception as exc:
            storage_ok = False
            checks["storage"] = f"error: {exc}"
    log_ok = True
    try:
        lag = {group: await c.lag() for group, c in services.consumers.items()}
        checks["log"] = "ok"
    except Exception as exc:
        lag = {}
        log_ok = False
        checks["log"] = f"error: {exc}"
    lifecycle = services.lifecycle
    modules = dict(lifecycle.ready) if lifecycle else {}
    ok = storage_ok and log_ok and all(modules.values())
    return call.json(
        {"status": "ready" if ok else "not ready", "shape": "cluster" if services.settings.cluster_config else "embedded",
         "checks": checks,
         "modules": modules, "consumer_lag": lag, "disk": disk},
        200 if ok else 503,
    )


@TABLE.add("GET", "/metrics", "Prometheus metrics", response=TEXT, tag="operations", content_type="text/plain")
async def metrics(call: Call) -> Response:
    from roost.gateway.metrics import render

    gateway = call.services.extras["gateway"]
    for group, consumer in call.services.consumers.items():
        gateway.building_blocks.consumer_lag[group] = await consumer.lag()
    refresh = getattr(call.services.storage.cache, "refresh_stats", None)
    if refresh is not None:  # a shared cache: its size and evictions are the server's
        await refresh()
    return Response(render(gateway.registry), media_type="text/plain; version=0.0.4; charset=utf-8")


@TABLE.add("GET", "/openapi.json", "This document", response=OPENAPI_DOCUMENT, tag="operations")
async def openapi(call: Call) -> Response:
    from roost.gateway.openapi import build_openapi

    return call.json(build_openapi(call.base_url))


@TABLE.add("GET", "/avatars/original/missing.png", "Default avatar", response=BINARY, tag="operations", content_type="image/png")
async def missing_avatar(call: Call) -> Response:
    return Response(MISSING_PNG, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})


@TABLE.add("GET", "/headers/original/missing.png", "Default header image", response=BINARY, tag="operations", content_type="image/png")
async def missing_header(call: Call) -> Response:
    return Response(MISSING_PNG, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"})
