"""The smallest ASGI app that still speaks HTTP properly: the load generator's ceiling.

No framework, no routing, no JSON encoding: every path answers 200 with the
same tiny JSON body (which also tells `roost bench`'s target probe, reading
/ready, that this is the raw app and not roost), so whatever rate a load generator reaches against this app (served
by granian, exactly as roost is) is the most it could ever report for roost.

    granian --interface asgi --host 127.0.0.1 --port 8199 --working-dir bench raw_asgi:app
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_BODY = b'{"status":"ok","shape":"raw-asgi"}'
_START: Message = {
    "type": "http.response.start",
    "status": 200,
    "headers": [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(_BODY)).encode()),
    ],
}
_END: Message = {"type": "http.response.body", "body": _BODY}


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
    await send(_START)
    await send(_END)
