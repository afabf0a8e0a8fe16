"""The ASGI entry point the HTTP server imports in each worker process.

Settings and targets travel through the environment (``ROOST_*``), so the
server can start workers without pickling anything.
"""

from __future__ import annotations

import logging
import os

from roost.gateway.app import ExactPathDispatch
from roost.gateway.app import create_app as build
from roost.runtime.connections import ConnectionMetrics, process_guard
from roost.settings import Settings

TARGETS_ENV = "ROOST_TARGETS"
LOG_LEVEL_ENV = "ROOST_LOG_LEVEL"


def setup_logging(level: str) -> None:
    """roost's own loggers (workers, timelines) and the HTTP server's (uvicorn) at
    the server's level, on stderr; without this only their warnings would show."""
    for name in ("roost", "uvicorn"):
        logger = logging.getLogger(name)
        if not logger.handlers:
            handler = logging.StreamHandler()
            handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
            logger.addHandler(handler)
            logger.propagate = False
        logger.setLevel(level.upper())


def create_app() -> ExactPathDispatch:
    setup_logging(os.environ.get(LOG_LEVEL_ENV, "info"))
    targets = tuple(t for t in os.environ.get(TARGETS_ENV, "all").split(",") if t)
    app = build(Settings.from_env(), targets)
    # The server's connection counters (this process's) beside the gateway's metrics.
    app.state.gateway.registry.register(ConnectionMetrics(process_guard()))
    return app
