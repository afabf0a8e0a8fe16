"""Connection limits (runtime/connections.py) on a real `roost up`: idle and
silent connections and slow headers are cut after their timeouts, oversized
headers are refused, and one address holding thousands of sockets cannot
starve another (issue #8, item 1).

The "other client" connects from another loopback address (Linux routes all
of 127/8 to lo), since the cap is per address.
"""

from __future__ import annotations

import re
import resource
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import BinaryIO

import httpx
import pytest
from e2e_support import RoostServer

pytestmark = pytest.mark.e2e

FLOOD = 2000
PER_IP_DEFAULT = 512  # Settings.max_connections_per_ip
# Long enough that no timeout closes a held socket while a test looks at it.
HOLD = {"ROOST_IDLE_TIMEOUT_SECONDS": "120", "ROOST_HEADER_TIMEOUT_SECONDS": "120"}
QUICK = {"ROOST_IDLE_TIMEOUT_SECONDS": "1", "ROOST_HEADER_TIMEOUT_SECONDS": "1"}


@pytest.fixture(scope="module", autouse=True)
def enough_fds() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard != resource.RLIM_INFINITY and hard < FLOOD + 500:
        pytest.skip(f"needs {FLOOD + 500} file descriptors, the limit is {hard}")


@pytest.fixture(scope="module")
def quick_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoostServer]:
    """Idle and header timeouts of one second."""
    base = tmp_path_factory.mktemp("quick")
    server = RoostServer(base / "data", log_dir=base / "logs")
    try:
        yield server.start(env=QUICK)
    finally:
        server.stop()


@contextmanager
def held_sockets(port: int, source: str, count: int) -> Iterator[list[socket.socket]]:
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            socks.append(sock)
            sock.bind((source, 0))
            sock.connect(("127.0.0.1", port))
        yield socks
    finally:
        for sock in socks:
            sock.close()


def closed_by_server(socks: list[socket.socket], wait: float, expect: int | None = None) -> list[socket.socket]:
    """The sockets the server closed within ``wait`` seconds, or as soon as ``expect`` of them are."""
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    closed: list[socket.socket] = []
    deadline = time.monotonic() + wait
    while by_fd and len(closed) != expect and (remaining := deadline - time.monotonic()) > 0:
        for fd, _ in poller.poll(remaining * 1000):
            sock = by_fd.pop(fd)
            poller.unregister(fd)
            try:
                data = sock.recv(1)
            except OSError:
                data = b""
            assert data == b"", f"the server sent {data!r} on a connection that sent nothing"
            closed.append(sock)
    return closed


def wait_for_eof(sock: socket.socket, timeout: float = 10.0) -> bytes:
    """Everything the server sends until it closes; fails if it has not closed in ``timeout``."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        raise AssertionError(f"the server kept the connection open for {timeout}s; got {received!r}") from None
    return received


def client_from(source: str, server: RoostServer) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=5.0,
                        transport=httpx.HTTPTransport(local_address=source))


def closed_count(server: RoostServer, reason: str) -> int:
    with client_from("127.0.0.9", server) as client:
        text = client.get("/metrics").text
    match = re.search(rf'^roost_http_connections_closed_total{{reason="{reason}"}} (\S+)$', text, re.M)
    assert match, f"no {reason} counter in /metrics"
    return int(float(match.group(1)))


def read_response(reader: BinaryIO) -> bytes:
    """The head of one HTTP response with a Content-Length, read off a keep-alive connection
    (``sock.makefile("rb")``, whose buffer keeps what follows for the next call)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        line = reader.readline()
        assert line, f"closed before a whole response: {head!r}"
        head += line
    match = re.search(rb"content-length: (\d+)", head, re.I)
    assert match, head
    assert len(reader.read(int(match.group(1)))) == int(match.group(1))
    return head


# --- one address cannot starve another ---------------------------------------------------------


def test_thousands_of_idle_sockets_from_one_address_do_not_starve_another(
        make_server: Callable[..., RoostServer]) -> None:
    server = make_server().start(env=HOLD)  # default connection caps
    with held_sockets(server.port, "127.0.0.1", FLOOD) as flood:
        # The server accepts them in order and closes each one past the cap at once.
        refused = closed_by_server(flood, 10.0, expect=FLOOD - PER_IP_DEFAULT)

        with client_from("127.0.0.2", server) as other:
            for _ in range(10):  # each on a new connection
                assert other.get("/health", headers={"Connection": "close"}).status_code == 200
            for _ in range(10):  # on one kept alive
                assert other.get("/api/v1/instance").status_code == 200
        assert len(refused) == FLOOD - PER_IP_DEFAULT, f"{len(refused)} refused"
        held = [s for s in flood if s not in refused]
        assert closed_by_server(held, 0.2) == [], "the flood was not held while the other client was served"
    assert closed_count(server, "per_ip_limit") == FLOOD - PER_IP_DEFAULT


def test_the_connection_past_the_per_address_cap_is_closed_at_once(
        make_server: Callable[..., RoostServer]) -> None:
    cap = 40
    server = make_server().start(env={**HOLD, "ROOST_MAX_CONNECTIONS_PER_IP": str(cap)})
    with held_sockets(server.port, "127.0.0.3", cap) as allowed, \
            held_sockets(server.port, "127.0.0.3", 1) as (extra,):
        assert wait_for_eof(extra) == b""  # closed before it sent anything
        assert closed_by_server(allowed, 0.2) == []
        # Its neighbour address is not affected, and once one of the 40 goes, a new one fits.
        with client_from("127.0.0.4", server) as other:
            assert other.get("/health").status_code == 200
        allowed[0].close()
        with client_from("127.0.0.3", server) as same:
            assert same.get("/health").status_code == 200
    assert closed_count(server, "per_ip_limit") == 1


SERVER_CAP = {**HOLD, "ROOST_MAX_CONNECTIONS": "30", "ROOST_MAX_CONNECTIONS_PER_IP": "20"}


def test_at_the_server_cap_the_longest_idle_connection_makes_room(
        make_server: Callable[..., RoostServer]) -> None:
    """Thirty connections that sent nothing fill the server; a new client still gets in."""
    server = make_server().start(env=SERVER_CAP)
    # Two newcomers that keep their connections: two idle ones make room, the oldest first.
    with held_sockets(server.port, "127.0.0.5", 20) as first, \
            held_sockets(server.port, "127.0.0.6", 10) as second, \
            client_from("127.0.0.7", server) as one, client_from("127.0.0.8", server) as two:
        assert one.get("/health").status_code == 200
        assert two.get("/health").status_code == 200
        assert closed_by_server(first + second, 10.0, expect=2) == first[:2]
        # Reading /metrics takes a third connection: the next oldest makes room for it.
        assert closed_count(server, "evicted_idle") == 3
        assert closed_by_server(first[2:] + second, 10.0, expect=1) == [first[2]]
        assert one.get("/health").status_code == 200  # the newcomers' connections were kept
    assert closed_count(server, "server_limit") == 0


def test_past_the_server_cap_with_no_idle_connection_a_newcomer_is_closed(
        make_server: Callable[..., RoostServer]) -> None:
    server = make_server().start(env=SERVER_CAP)
    with held_sockets(server.port, "127.0.0.5", 20) as first, \
            held_sockets(server.port, "127.0.0.6", 10) as second:
        for sock in first + second:  # each one mid-request: nothing to take back
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: ro")
        with held_sockets(server.port, "127.0.0.7", 1) as (extra,):
            assert wait_for_eof(extra) == b""
        assert closed_by_server(first + second, 0.2) == []
    assert closed_count(server, "server_limit") == 1


# --- timeouts ----------------------------------------------------------------------------------


def test_an_idle_keep_alive_connection_is_closed(quick_server: RoostServer) -> None:
    before = closed_count(quick_server, "idle_timeout")
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        reader = sock.makefile("rb")
        for _ in range(2):  # kept alive between requests sent in time
            sock.sendall(b"GET /health HTTP/1.1\r\nHost: roost\r\n\r\n")
            assert read_response(reader).startswith(b"HTTP/1.1 200")
        assert wait_for_eof(sock) == b""
    assert closed_count(quick_server, "idle_timeout") == before + 1


def test_a_connection_that_sends_nothing_is_closed(quick_server: RoostServer) -> None:
    before = closed_count(quick_server, "silent_timeout")
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        assert wait_for_eof(sock) == b""
    assert closed_count(quick_server, "silent_timeout") == before + 1


def test_slowloris_headers_are_cut_after_the_header_timeout(quick_server: RoostServer) -> None:
    """A byte every 0.2 s: each one would reset an idle timer, none resets the header deadline."""
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: roost\r\nX-Slow: ")
        sent = 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if select.select([sock], [], [], 0.2)[0]:
                break
            try:
                sock.sendall(b"a")
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        reply = wait_for_eof(sock)
    assert sent >= 2  # the drip was going when it was cut
    assert reply.startswith(b"HTTP/1.1 408"), reply
    assert reply.endswith(b'{"error":"The request headers took too long to arrive"}')


def test_a_stray_crlf_drip_does_not_keep_a_connection_open(quick_server: RoostServer) -> None:
    """Blank lines before a request start no request, so they must not hold the connection either."""
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not select.select([sock], [], [], 0.2)[0]:
            try:
                sock.sendall(b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
        wait_for_eof(sock)


def test_a_slow_upload_inside_its_timeouts_is_served(quick_server: RoostServer) -> None:
    """The header deadline ends with the headers: a body may take longer than it."""
    body = b"client_name=slow&redirect_uris=urn%3Aietf%3Awg%3Aoauth%3A2.0%3Aoob&scopes=read"
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        sock.sendall(b"POST /api/v1/apps HTTP/1.1\r\nHost: roost\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        pieces = [body[i:i + 20] for i in range(0, len(body), 20)]
        for piece in pieces:  # 4 x 0.5 s: twice the header and idle timeouts
            time.sleep(0.5)
            sock.sendall(piece)
        assert read_response(sock.makefile("rb")).startswith(b"HTTP/1.1 200")


def test_oversized_headers_are_refused_with_431(quick_server: RoostServer) -> None:
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: roost\r\n" + b"X-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        reply = wait_for_eof(sock)
    assert reply.startswith(b"HTTP/1.1 431"), reply
    assert reply.endswith(b'{"error":"The request headers are too large"}')


def test_headers_that_never_end_are_refused_before_they_are_buffered(quick_server: RoostServer) -> None:
    """One header line that never ends: refused once it passes the cap, not at the timeout."""
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: roost\r\nX-Big: " + b"a" * 40_000)
        reply = wait_for_eof(sock)
    assert reply.startswith(b"HTTP/1.1 431"), reply


def test_an_overlong_target_is_refused_with_414(quick_server: RoostServer) -> None:
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        sock.sendall(b"GET /health?" + b"a" * 20_000 + b" HTTP/1.1\r\nHost: roost\r\n\r\n")
        reply = wait_for_eof(sock)
    assert reply.startswith(b"HTTP/1.1 414"), reply


def test_headers_under_the_cap_are_served(quick_server: RoostServer) -> None:
    with client_from("127.0.0.1", quick_server) as client:
        r = client.get("/health", headers={"X-Padding": "a" * 12_000})
    assert r.status_code == 200


def test_pipelined_requests_are_all_answered(quick_server: RoostServer) -> None:
    with socket.create_connection(("127.0.0.1", quick_server.port)) as sock:
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: roost\r\n\r\n" * 3)
        reader = sock.makefile("rb")
        for _ in range(3):
            assert read_response(reader).startswith(b"HTTP/1.1 200")
