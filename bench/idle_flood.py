"""The idle-socket flood probe (issue #8 item 1): one address holds many idle
connections while another address sends ordinary requests.

    python bench/idle_flood.py --port 8080 --sockets 2000 --requests 9

Opens --sockets TCP connections from --flood-from (or spread over
--flood-spread addresses 127.0.1.1, 127.0.1.2, ...) that never send a byte,
then sends --requests GET /health requests, each on a fresh connection, from
--client-from (another loopback address: Linux routes all of 127/8 to lo, and
a per-IP limit must not mistake the two clients for one). Prints how many of
the flood's sockets the server still holds, how many it closed, and each
request's outcome and time.
"""

from __future__ import annotations

import argparse
import resource
import select
import socket
import time


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def open_idle(host: str, port: int, sources: list[str], count: int) -> list[socket.socket]:
    held = []
    for i in range(count):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((sources[i % len(sources)], 0))
        sock.connect((host, port))
        held.append(sock)
    return held


def closed_by_server(socks: list[socket.socket], wait: float) -> int:
    """How many of ``socks`` the server has closed (EOF or reset), after up to ``wait`` seconds."""
    poller = select.poll()
    by_fd = {sock.fileno(): sock for sock in socks}
    for fd in by_fd:
        poller.register(fd, select.POLLIN)
    closed = 0
    deadline = time.monotonic() + wait
    while by_fd and (remaining := deadline - time.monotonic()) > 0:
        for fd, _ in poller.poll(remaining * 1000):
            try:
                data = by_fd[fd].recv(1)
            except OSError:
                data = b""
            if not data:
                closed += 1
                poller.unregister(fd)
                del by_fd[fd]
    return closed


def request(host: str, port: int, source: str, timeout: float) -> tuple[str, float]:
    started = time.monotonic()
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.bind((source, 0))
            sock.connect((host, port))
            sock.sendall(f"GET /health HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n".encode())
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        status = reply.split(b"\r\n", 1)[0].decode(errors="replace") or "closed without a response"
    except OSError as exc:
        status = f"failed: {exc!r}"
    return status, time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=9)
    parser.add_argument("--flood-from", default="127.0.0.1")
    parser.add_argument("--flood-spread", type=int, default=0,
                        help="spread the flood over this many addresses (127.0.1.1 and up) instead")
    parser.add_argument("--client-from", default="127.0.0.2")
    parser.add_argument("--timeout", type=float, default=10.0, help="per request, seconds")
    args = parser.parse_args()
    raise_fd_limit()
    sources = ([f"127.0.{1 + i // 254}.{1 + i % 254}" for i in range(args.flood_spread)]
               if args.flood_spread else [args.flood_from])
    flood = open_idle(args.host, args.port, sources, args.sockets)
    closed = closed_by_server(flood, 2.0)
    origin = f"{len(sources)} addresses" if args.flood_spread else args.flood_from
    print(f"flood: {args.sockets} idle sockets from {origin}; "
          f"the server closed {closed} within 2 s and holds {args.sockets - closed}")
    ok = 0
    for i in range(args.requests):
        status, took = request(args.host, args.port, args.client_from, args.timeout)
        ok += status.startswith("HTTP/1.1 200")
        print(f"request {i + 1} from {args.client_from}: {status} in {took:.3f} s")
    print(f"{ok} of {args.requests} requests succeeded while the flood was held")
    for sock in flood:
        sock.close()


if __name__ == "__main__":
    main()
