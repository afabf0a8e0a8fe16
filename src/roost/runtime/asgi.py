"""The ASGI entry point the HTTP server imports in each worker process.

Settings and targets travel through the environment (``ROOST_*``), so the
server can start workers without pickling anything.
"""

from __future__ import annotations

import logging
import os
import sys

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from roost.errors import StorageIntegrityError
from roost.gateway.app import create_app as build
from roost.runtime.connections import ConnectionMetrics, process_guard
from roost.settings import Settings

TARGETS_ENV = "ROOST_TARGETS"
LOG_LEVEL_ENV = "ROOST_LOG_LEVEL"


class OneLineStartupFailure:
    """When the data directory is refused at start, the server reports one line, not
    Starlette's traceback of it.

    ``roost up`` checks the data directory before starting the server; this covers the
    storage module's own check behind it (a file damaged in between, or the server
    started without the CLI). Starlette sends ``lifespan.startup.failed`` with the
    formatted traceback from inside its ``except`` block, so the exception being
    handled is still visible here; the server logs that message and exits.
    The exception is not raised on once reported, or the server would log its traceback too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        reported: list[StorageIntegrityError] = []

        async def send_one_line(message: Message) -> None:
            failure = sys.exc_info()[1]
            if message["type"] == "lifespan.startup.failed" and isinstance(failure, StorageIntegrityError):
                message = {**message, "message": f"roost: refusing to start: {failure}"}
                reported.append(failure)
            await send(message)

        try:
            await self.app(scope, receive, send_one_line)
        except StorageIntegrityError as exc:
            if exc not in reported:
                raise


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


def create_app() -> ASGIApp:
    setup_logging(os.environ.get(LOG_LEVEL_ENV, "info"))
    targets = tuple(t for t in os.environ.get(TARGETS_ENV, "all").split(",") if t)
    app = build(Settings.from_env(), targets)
    # The server's connection counters (this process's) beside the gateway's metrics.
    app.state.gateway.registry.register(ConnectionMetrics(process_guard()))
    return OneLineStartupFailure(app)
