"""The ASGI entry point the HTTP server imports in each worker process.

Settings and targets travel through the environment (``ROOST_*``), so the
server can start workers without pickling anything.
"""

from __future__ import annotations

import logging
import os

from roost.gateway.app import ExactPathDispatch
from roost.gateway.app import create_app as build
from roost.settings import Settings

TARGETS_ENV = "ROOST_TARGETS"
LOG_LEVEL_ENV = "ROOST_LOG_LEVEL"


def create_app() -> ExactPathDispatch:
    # roost's own loggers (workers, timelines) at the server's level, on stderr
    # beside granian's lines; without this only their warnings would show.
    roost_logger = logging.getLogger("roost")
    if not roost_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("[%(levelname)s] %(name)s: %(message)s"))
        roost_logger.addHandler(handler)
    roost_logger.setLevel(os.environ.get(LOG_LEVEL_ENV, "info").upper())
    targets = tuple(t for t in os.environ.get(TARGETS_ENV, "all").split(",") if t)
    return build(Settings.from_env(), targets)
