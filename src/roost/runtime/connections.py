"""Connection limits for the HTTP server: how long a connection may sit idle or
take to send its request headers, how large those headers may be, and how many
connections one client address, and everyone together, may hold open.

uvicorn bounds none of these by itself (it only closes a keep-alive connection
left idle after a response), and no library adds them to an asyncio server, so
``GuardedHttpToolsProtocol`` adds them to uvicorn's httptools protocol through
uvicorn's public ``Config(http=<protocol class>)`` extension point:

- A connection from an address that already holds ``max_connections_per_ip``
  is closed as soon as it is accepted, before a byte is read. At
  ``max_connections`` in all, the connection idle the longest (one waiting for
  its next request, or a new one that has sent nothing) is closed to make room,
  as nginx reuses idle keep-alive connections; if none is idle, the newcomer
  is closed instead.
- A request's headers must be complete within ``header_timeout`` of the
  connection opening or of the request's first byte (a slowloris client
  sending a byte every few seconds is cut off). It is answered 408 if it sent
  part of a request, else just closed.
- Between requests, a keep-alive connection is closed after ``idle_timeout``
  (uvicorn's own keep-alive timer, set from here).
- The request line and headers together may take ``max_header_bytes``
  (431, or 414 when the target alone is too long).

Request bodies are not timed here: once the headers are complete, the request
belongs to the application, whose body reader enforces its own limits.

The counters are per process: each server worker holds its own connections,
so with N workers the caps apply per worker (the embedded shape runs one).
"""

from __future__ import annotations

import asyncio
import functools
import resource
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from roost.settings import Settings

# File descriptors kept out of the connection budget: shard files, the log,
# their WAL and journal files, the listening socket.
RESERVED_FDS = 256


@dataclass(frozen=True)
class ConnectionLimits:
    idle_timeout: float
    header_timeout: float
    max_header_bytes: int
    max_connections_per_ip: int  # 0: no per-address cap
    max_connections: int

    @classmethod
    def from_settings(cls, settings: Settings) -> ConnectionLimits:
        return cls(
            idle_timeout=settings.idle_timeout_seconds,
            header_timeout=settings.header_timeout_seconds,
            max_header_bytes=settings.max_header_bytes,
            max_connections_per_ip=settings.max_connections_per_ip,
            max_connections=min(settings.max_connections, fd_budget()),
        )


def raise_fd_limit() -> int:
    """Lift this process's soft open-files limit to the hard one; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def fd_budget() -> int:
    """How many connections this process can hold without running out of file descriptors."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return 1 << 20
    return max(soft - RESERVED_FDS, 1)


class ConnectionGuard:
    """The per-process book of open connections, by client address, and of why
    connections were closed; shared by every protocol instance of the process."""

    def __init__(self, limits: ConnectionLimits) -> None:
        self.limits = limits
        self.open = 0
        self.by_address: dict[str, int] = {}
        self.closed: Counter[str] = Counter()
        # Connections with no request under way, oldest first (a dict keeps order).
        self.idle: dict[GuardedHttpToolsProtocol, None] = {}

    def admit(self, address: str) -> str | None:
        """Count a new connection in, or return why it is refused."""
        limits = self.limits
        held = self.by_address.get(address, 0)
        if limits.max_connections_per_ip and held >= limits.max_connections_per_ip:
            return "per_ip_limit"
        if self.open >= limits.max_connections:
            if not self.idle:
                return "server_limit"
            oldest = next(iter(self.idle))
            self.closed["evicted_idle"] += 1
            oldest.evict()  # releases its place now; the socket closes right after
            held = self.by_address.get(address, 0)
        self.by_address[address] = held + 1
        self.open += 1
        return None

    def release(self, address: str) -> None:
        held = self.by_address.get(address, 0) - 1
        if held > 0:
            self.by_address[address] = held
        else:
            self.by_address.pop(address, None)
        self.open -= 1


@functools.cache
def process_guard() -> ConnectionGuard:
    """This process's guard; limits come from ``ROOST_*`` like every setting,
    since uvicorn builds the protocol itself (in each worker process)."""
    return ConnectionGuard(ConnectionLimits.from_settings(Settings.from_env()))


def _error_response(status: int, reason: bytes, message: str) -> bytes:
    body = orjson.dumps({"error": message})
    return b"".join([
        b"HTTP/1.1 %d %s\r\n" % (status, reason),
        b"content-type: application/json\r\n",
        b"content-length: %d\r\n" % len(body),
        b"connection: close\r\n\r\n",
        body,
    ])


REQUEST_TIMEOUT = _error_response(408, b"Request Timeout", "The request headers took too long to arrive")
HEADERS_TOO_LARGE = _error_response(431, b"Request Header Fields Too Large", "The request headers are too large")
URI_TOO_LONG = _error_response(414, b"URI Too Long", "The request target is too long")


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with the limits above."""

    guard: ConnectionGuard | None = None  # tests give a class its own; else the process's

    def __init__(self, config: Config, server_state: ServerState, app_state: dict[str, Any],
                 _loop: asyncio.AbstractEventLoop | None = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self._guard = self.guard or process_guard()
        self.timeout_keep_alive = self._guard.limits.idle_timeout  # type: ignore[assignment]
        self._address: str | None = None  # set while it counts in the guard
        self._refused = False  # closed at accept: uvicorn never saw it
        self._headers_timer: asyncio.TimerHandle | None = None
        self._in_message = False  # between a request's first byte and its body's end
        self._reading_headers = False  # between a request's first byte and its headers' end
        self._header_bytes = 0  # raw bytes received while reading headers
        self._counted = 0  # request target and header fields, as parsed
        # What to answer before closing once a limit is hit (b"": close without a word).
        self._rejected: bytes | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) else "local"
        refusal = self._guard.admit(address)
        if refusal is not None:
            self._guard.closed[refusal] += 1
            self._refused = True
            self.transport = transport
            transport.close()
            return
        self._address = address
        super().connection_made(transport)
        self._arm_headers_timer()
        self._guard.idle[self] = None

    def connection_lost(self, exc: Exception | None) -> None:
        if self._refused:
            return
        self._leave_guard()
        self._cancel_headers_timer()
        super().connection_lost(exc)

    def evict(self) -> None:
        """Closed to make room for a new connection, while waiting for a request."""
        self._leave_guard()
        if not self.transport.is_closing():
            self.transport.close()

    def _leave_guard(self) -> None:
        self._guard.idle.pop(self, None)
        if self._address is not None:
            self._guard.release(self._address)
            self._address = None

    def data_received(self, data: bytes) -> None:
        if self._rejected is not None:
            return
        if not self._in_message and not self._reading_headers:
            self._start_headers()  # the next request's first byte (or a stray CRLF before it)
        if self._reading_headers:
            self._header_bytes += len(data)
        super().data_received(data)
        if self._rejected is None and self._reading_headers and self._header_bytes > self._guard.limits.max_header_bytes:
            # Still inside the headers, so all of it was headers: refuse before buffering more.
            self._reject(HEADERS_TOO_LARGE, "headers_too_large")
        if self._rejected is not None:
            self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_message = True
        if not self._reading_headers:  # pipelined behind the previous request in the same read
            self._start_headers()
        self._counted = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url), URI_TOO_LONG, "uri_too_long")
        if self._rejected is None:
            super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4, HEADERS_TOO_LARGE, "headers_too_large")  # ": " and CRLF
        if self._rejected is None:
            super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._reading_headers = False
        self._cancel_headers_timer()
        if self._rejected is None:
            super().on_headers_complete()

    def on_body(self, body: bytes) -> None:
        if self._rejected is None:
            super().on_body(body)

    def on_message_complete(self) -> None:
        self._in_message = False
        if self._rejected is not None:
            return
        super().on_message_complete()
        # The response went out before the body was all in (an early 413, say): the
        # body's bytes cancelled uvicorn's idle timer, which only a response arms.
        if (self.cycle.response_complete and not self.pipeline and self.timeout_keep_alive_task is None
                and not self.transport.is_closing()):
            self.timeout_keep_alive_task = self.loop.call_later(self.timeout_keep_alive,
                                                                self.timeout_keep_alive_handler)
            self._guard.idle[self] = None

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None and self._address is not None:
            self._guard.idle[self] = None  # uvicorn armed its idle timer: nothing under way

    def timeout_keep_alive_handler(self) -> None:
        if not self.transport.is_closing():
            self._guard.closed["idle_timeout"] += 1
        super().timeout_keep_alive_handler()

    # --- the header deadline and budget ---

    def _start_headers(self) -> None:
        self._guard.idle.pop(self, None)
        self._reading_headers = True
        self._header_bytes = 0
        if self._headers_timer is None:
            self._arm_headers_timer()

    def _arm_headers_timer(self) -> None:
        self._headers_timer = self.loop.call_later(self._guard.limits.header_timeout, self._headers_too_slow)

    def _cancel_headers_timer(self) -> None:
        if self._headers_timer is not None:
            self._headers_timer.cancel()
            self._headers_timer = None

    def _headers_too_slow(self) -> None:
        self._headers_timer = None
        if self.transport.is_closing() or self._rejected is not None:
            return
        if self._reading_headers:
            # Part of a request arrived: tell the client why (RFC 9110, 15.5.9).
            self._guard.closed["header_timeout"] += 1
            self.transport.write(REQUEST_TIMEOUT)
        else:
            # Nothing was sent on a new connection: there is no request to answer.
            self._guard.closed["silent_timeout"] += 1
        self._rejected = b""
        self.transport.close()

    def _count(self, size: int, response: bytes, reason: str) -> None:
        self._counted += size
        if self._rejected is None and self._counted > self._guard.limits.max_header_bytes:
            self._reject(response, reason)

    def _reject(self, response: bytes, reason: str) -> None:
        self._guard.closed[reason] += 1
        self._rejected = response

    def _refuse(self) -> None:
        self._cancel_headers_timer()
        if not self.transport.is_closing():
            self.transport.write(self._rejected or b"")
            self.transport.close()


class ConnectionMetrics(Collector):
    """The guard's figures for /metrics, read at scrape time (this process's connections)."""

    def __init__(self, guard: ConnectionGuard) -> None:
        self.guard = guard

    def collect(self) -> Iterator[Any]:
        yield GaugeMetricFamily("roost_http_connections_open", "HTTP connections open in this process",
                                value=self.guard.open)
        yield GaugeMetricFamily("roost_http_connection_addresses", "Client addresses with a connection open",
                                value=len(self.guard.by_address))
        closed = CounterMetricFamily("roost_http_connections_closed",
                                     "HTTP connections the server closed or refused, by reason",
                                     labels=["reason"])
        for reason in REASONS:
            closed.add_metric([reason], self.guard.closed[reason])
        yield closed


REASONS = ("per_ip_limit", "server_limit", "evicted_idle", "idle_timeout", "silent_timeout", "header_timeout",
           "headers_too_large", "uri_too_long")
