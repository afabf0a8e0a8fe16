"""The ASGI entry point the HTTP server imports in each worker process.

Settings and targets travel through the environment (``ROOST_*``), so the
server can start workers without pickling anything.
"""

from __future__ import annotations

import os

from roost.gateway.app import ExactPathDispatch
from roost.gateway.app import create_app as build
from roost.settings import Settings

TARGETS_ENV = "ROOST_TARGETS"


def create_app() -> ExactPathDispatch:
    targets = tuple(t for t in os.environ.get(TARGETS_ENV, "all").split(",") if t)
    return build(Settings.from_env(), targets)
