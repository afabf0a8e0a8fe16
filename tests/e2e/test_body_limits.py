"""Bodies against a real `roost up` (issue #8, item 2): a chunked flood with no
Content-Length is answered 413 after about the route's limit while the server's
memory stays flat, and a stalled body is cut with 408, under the real HTTP server."""

from __future__ import annotations

import socket
from collections.abc import Callable

import httpx
from body_flood import chunked_flood
from e2e_support import RoostServer

# Memory is a bound, not a timing: before the fix 50 MB here grew the worker by ~100 MB.
MAX_GROWTH_KIB = 8 * 1024


def test_a_chunked_flood_to_oauth_token_is_cut_with_flat_memory(server: RoostServer) -> None:
    assert server.pid is not None
    result = chunked_flood(server.url, server.pid, megabytes=50, timeout=60)
    assert " 413 " in result.status_line, result.response
    assert result.response.endswith(b'{"error":"Request entity too large"}'), result.response
    assert result.sent_bytes < 50 * 1_048_576, "the server only answered once everything was sent"
    assert result.rss_peak_kib - result.rss_before_kib < MAX_GROWTH_KIB, result.report()
    assert httpx.get(server.url + "/health", timeout=5).status_code == 200


def test_a_stalled_body_is_cut_with_408(make_server: Callable[..., RoostServer]) -> None:
    server = make_server().start(env={"ROOST_BODY_IDLE_SECONDS": "0.5"})
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(b"POST /oauth/token HTTP/1.1\r\nHost: roost\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\n5\r\ngrant\r\n")
        answer = b""
        while not answer.endswith(b"}"):
            data = sock.recv(4096)  # bounded by the socket timeout
            if not data:
                break
            answer += data
    assert answer.startswith(b"HTTP/1.1 408 "), answer
    assert answer.endswith(b'{"error":"The request body was not received in time"}'), answer
