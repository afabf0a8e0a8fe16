"""Runs roost under uvicorn, with httptools parsing HTTP and uvloop as the event loop.

uvicorn takes its HTTP protocol as a class, so ``runtime/connections.py`` adds
idle and header timeouts, a header size cap and per-address and global
connection caps, which granian (used before) has no place for. On a raw ASGI
app the two tie here; on roost's cheapest route uvicorn does about two thirds
of granian's rate, since its HTTP handling shares the Python thread
(docs/PERFORMANCE.md).

The listening socket is bound here, before anything starts, without
SO_REUSEPORT: a port already in use (by another roost or anything else) is
refused with one line and exit status 1, instead of being shared with it.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from collections.abc import Callable

from roost.runtime.asgi import LOG_LEVEL_ENV, TARGETS_ENV, setup_logging
from roost.runtime.connections import GuardedHttpToolsProtocol, raise_fd_limit
from roost.settings import Settings

# Connections the kernel may queue before the server accepts them.
BACKLOG = 2048
# On SIGTERM, how long requests in flight may take before they are cancelled
# and the application stops anyway (saving its state).
GRACEFUL_SHUTDOWN_SECONDS = 10


class ListenError(Exception):
    """The address cannot be listened on; the message is one line for the operator."""


def listen(host: str, port: int, backlog: int = BACKLOG) -> socket.socket:
    """A listening TCP socket on host:port that no other process shares."""
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as exc:
        raise ListenError(f"cannot listen on {where}: {_reason(exc)}") from None
    sock = socket.socket(family, kind, proto)
    try:
        # SO_REUSEADDR lets a restart bind while the last run's connections sit in
        # TIME_WAIT; on Linux it never lets two sockets listen on one port (that is
        # SO_REUSEPORT, deliberately not set).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(backlog)
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {where}: {_reason(exc)}") from None
    sock.set_inheritable(True)  # uvicorn's worker processes inherit it
    return sock


def _reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text[:1].lower() + text[1:]


def serve(settings: Settings, targets: tuple[str, ...] = ("all",), log_level: str = "info",
          announce: str = "", prepare: Callable[[], int] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; return the exit status. Once the port is ours,
    ``prepare`` runs (a non-zero status stops here: a refused port never touches the
    data directory) and ``announce`` is printed."""
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    raise_fd_limit()  # each connection is a file descriptor
    try:
        sock = listen(settings.host, settings.port)
    except ListenError as exc:
        print(f"roost: {exc}", file=sys.stderr, flush=True)
        return 1
    if prepare is not None and (status := prepare()) != 0:
        sock.close()
        return status
    os.environ.update(settings.to_env())
    os.environ[TARGETS_ENV] = ",".join(targets)
    os.environ[LOG_LEVEL_ENV] = log_level
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    setup_logging(log_level)
    if announce:
        print(announce, flush=True)
    config = uvicorn.Config(
        "roost.runtime.asgi:create_app",
        factory=True,
        http=GuardedHttpToolsProtocol,
        loop="auto",  # uvloop when installed
        ws="none",
        lifespan="on",
        workers=settings.workers,  # the embedded shape keeps its caches in-process: run one
        backlog=BACKLOG,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        # roost's loggers (asgi.setup_logging) carry uvicorn's lines; no access log.
        log_config=None,
        log_level=log_level,
        access_log=False,
        # The client address comes from the socket; trusting X-Forwarded-For is
        # the gateway's decision, not the server's.
        proxy_headers=False,
        server_header=False,
    )
    # uvicorn re-raises the stop signal once it has shut down cleanly; with these
    # handlers in place that ends the process with status 0 and no traceback.
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: None)
    try:
        if settings.workers > 1:
            Multiprocess(config, sockets=[sock]).run()
            return 0
        server = uvicorn.Server(config)
        server.run(sockets=[sock])
        return 0 if server.started else 1
    finally:
        sock.close()
