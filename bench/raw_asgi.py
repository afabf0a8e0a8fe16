"""The smallest ASGI app that still speaks HTTP properly: the load generator's ceiling.

No framework, no routing, no JSON encoding: every path answers 200 with the
same tiny JSON body (which also tells `roost bench`'s target probe, reading
/ready, that this is the raw app and not roost), so whatever rate a load generator reaches against this app (served
by uvicorn, exactly as roost is) is the most it could ever report for roost.

    uvicorn --loop uvloop --http roost.runtime.connections:GuardedHttpToolsProtocol --no-access-log \
        --host 127.0.0.1 --port 8199 --app-dir bench raw_asgi:app

With RAW_ASGI_BODY=FILE it answers every path but /ready with that file
instead (e.g. a home page saved from roost), so the same workload against
both servers shows what roost costs on top of sending a body of that size.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]



def _response(body: bytes) -> tuple[Message, Message]:
    start: Message = {
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


_PROBE = _response(b'{"status":"ok","shape":"raw-asgi"}')
_BODY_FILE = os.environ.get("RAW_ASGI_BODY")
_ANSWER = _response(Path(_BODY_FILE).read_bytes()) if _BODY_FILE else _PROBE


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    # Drain the request body so keep-alive connections stay in sync.
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    start, body = _PROBE if scope["path"] == "/ready" else _ANSWER
    await send(start)
    await send(body)
