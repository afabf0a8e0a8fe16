"""A bare HTTP/1.1 keep-alive client connection for the open-loop driver.

Why not httpx: per request, httpx builds Request and Response objects, runs
header normalisation, pool bookkeeping and several layers of awaits; on this
machine that caps one Python process at a few thousand requests per second,
well below what the server can do. A load generator that slow would measure
itself. This connection sends pre-built request bytes and parses only what
it needs (status code, Content-Length or chunked framing, Connection: close)
straight in ``data_received``, one future per request, with no stream
objects in between.

One request in flight per connection (no pipelining), like wrk and like
real clients.
"""

from __future__ import annotations

import asyncio
import socket


class ConnectionClosed(ConnectionError):
    pass


class _Protocol(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future[int] | None = None
        self.buf = bytearray()
        self.closed = False
        self.close_after = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        self._try_complete()

    def eof_received(self) -> bool | None:
        self._finish_on_close()
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish_on_close(exc)

    def _finish_on_close(self, exc: Exception | None = None) -> None:
        self.closed = True
        waiter = self.waiter
        if waiter is None or waiter.done():
            return
        status = _status_if_read_to_close(self.buf)
        self.waiter = None
        if status is not None:
            waiter.set_result(status)
        else:
            waiter.set_exception(ConnectionClosed(str(exc) if exc else "connection closed"))

    def _try_complete(self) -> None:
        waiter = self.waiter
        if waiter is None:
            return
        parsed = parse_response(self.buf)
        if parsed is None:
            return
        status, length, close = parsed
        del self.buf[:length]
        self.waiter = None
        self.close_after = close
        if not waiter.done():
            waiter.set_result(status)


def parse_response(buf: bytearray | bytes) -> tuple[int, int, bool] | None:
    """``(status, bytes consumed, close)`` for one complete response, else None.

    A response framed by connection close (no length, not chunked) is never
    complete here; :func:`_status_if_read_to_close` handles it at EOF.
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    head = bytes(buf[:end]).lower()
    status = int(head[9:12])
    close = b"\r\nconnection: close" in head
    body_start = end + 4
    if status < 200 or status in (204, 304):
        return status, body_start, close
    pos = head.find(b"\r\ncontent-length:")
    if pos >= 0:
        line_end = head.find(b"\r\n", pos + 2)
        value = head[pos + 17 : line_end if line_end >= 0 else len(head)]
        total = body_start + int(value.strip())
        return (status, total, close) if len(buf) >= total else None
    if b"\r\ntransfer-encoding:" in head and b"chunked" in head:
        pos = body_start
        while True:
            line_end = buf.find(b"\r\n", pos)
            if line_end < 0:
                return None
            size = int(bytes(buf[pos:line_end]).split(b";", 1)[0], 16)
            if size == 0:
                # No trailers expected; the last chunk is followed by CRLF.
                trailer_end = buf.find(b"\r\n", line_end + 2)
                if trailer_end < 0:
                    return None
                return status, trailer_end + 2, close
            pos = line_end + 2 + size + 2
            if len(buf) < pos:
                return None
    return None


def _status_if_read_to_close(buf: bytearray) -> int | None:
    end = buf.find(b"\r\n\r\n")
    if end < 0 or len(buf) < 12:
        return None
    return int(buf[9:12])


class H1Connection:
    """One keep-alive connection; ``request`` sends raw bytes, returns the status."""

    def __init__(self, protocol: _Protocol) -> None:
        self._p = protocol

    @classmethod
    async def open(cls, host: str, port: int) -> H1Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await loop.create_connection(_Protocol, host, port)
        return cls(protocol)

    @property
    def usable(self) -> bool:
        return not self._p.closed and not self._p.close_after

    async def request(self, raw: bytes) -> int:
        p = self._p
        if p.closed or p.transport is None:
            raise ConnectionClosed("connection closed")
        waiter: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        p.waiter = waiter
        p.transport.write(raw)
        return await waiter

    def close(self) -> None:
        if self._p.transport is not None:
            self._p.transport.close()
