"""A refused data directory reaches the ASGI server as one line, whichever server runs roost."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from roost.adapters.embedded.manifest import open_data_dir
from roost.gateway.app import create_app
from roost.runtime.asgi import OneLineStartupFailure
from roost.settings import Settings


def run_lifespan_startup(app: Any) -> list[dict[str, Any]]:
    sent: list[dict[str, Any]] = []
    messages = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else await asyncio.Event().wait()  # type: ignore[func-returns-value]

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    return sent


def test_a_refused_data_dir_is_one_startup_failure_line(tmp_path: Path) -> None:
    data = tmp_path / "data"
    open_data_dir(data, 1024, 4)
    (data / "log.sqlite3").unlink()
    app = OneLineStartupFailure(create_app(Settings(data_dir=data)))
    assert run_lifespan_startup(app) == [{
        "type": "lifespan.startup.failed",
        "message": f"roost: refusing to start: {data}/log.sqlite3: missing (the log store)",
    }]
