"""Runs roost under granian, the fastest ASGI server measured on our machines
(about 2.5x uvicorn on a raw ASGI app; see docs/PERFORMANCE.md)."""

from __future__ import annotations

import os

from roost.runtime.asgi import LOG_LEVEL_ENV, TARGETS_ENV
from roost.settings import Settings


def serve(settings: Settings, targets: tuple[str, ...] = ("all",), log_level: str = "info") -> None:
    from granian import Granian
    from granian.constants import Interfaces, Loops
    from granian.log import LogLevels

    os.environ.update(settings.to_env())
    os.environ[TARGETS_ENV] = ",".join(targets)
    os.environ[LOG_LEVEL_ENV] = log_level
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    server = Granian(
        "roost.runtime.asgi:create_app",
        address=settings.host,
        port=settings.port,
        interface=Interfaces.ASGI,
        factory=True,
        # One worker: the embedded shape keeps its caches in this process.
        workers=settings.workers,
        loop=Loops.auto,
        log_level=LogLevels(log_level),
        log_access=False,
        backpressure=1024,
    )
    server.serve()
