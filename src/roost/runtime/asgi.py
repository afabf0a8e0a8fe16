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
    handled is still visible here; servers (uvicorn, granian) log that message and exit.
    The exception is not raised on once reported, or granian logs its traceback too.
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


def create_app() -> ASGIApp:
    # roost's own loggers (workers, timelines) at the server's level, on stderr
    # beside granian's lines; without this only their warnings would show.
    roost_logger = logging.getLogger("roost")
    if not roost_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
        roost_logger.addHandler(handler)
    roost_logger.setLevel(os.environ.get(LOG_LEVEL_ENV, "info").upper())
    targets = tuple(t for t in os.environ.get(TARGETS_ENV, "all").split(",") if t)
    return OneLineStartupFailure(build(Settings.from_env(), targets))
