"""The chunked-body flood probe (issue #8, item 2): one unauthenticated client sends a
large chunked body (no Content-Length) to /oauth/token while the server's memory is
sampled from /proc.

Before the fix the server read the whole body before checking its size: 300 MB took
the worker from 63 to 579 MB before the 413. Now the body is counted while it
streams, so the answer (413) comes after about the route's limit and the memory
stays flat.

    python tests/e2e/body_flood.py --mb 300            # starts its own `roost up` on loopback
    python tests/e2e/body_flood.py --mb 300 --url http://127.0.0.1:8080 --pid 1234

Bounded: it sends at most ``--mb`` megabytes, stops at the first byte of the answer
or when the server closes, and gives up after ``--timeout`` seconds.
"""

from __future__ import annotations

import argparse
import contextlib
import select
import socket
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

CHUNK = 64 * 1024


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (the server may fork workers)."""
    total = 0
    for p in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


def descendants(pid: int) -> list[int]:
    out: list[int] = []
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                out += [int(child), *descendants(int(child))]
    return out


@dataclass
class FloodResult:
    status_line: str
    response: bytes
    sent_bytes: int
    rss_before_kib: int
    rss_peak_kib: int
    rss_after_kib: int
    samples: list[int] = field(default_factory=list)

    def report(self) -> str:
        mib = 1024
        return (
            f"answer: {self.status_line!r} after {self.sent_bytes / 1_048_576:.2f} MB sent\n"
            f"server RSS: before {self.rss_before_kib / mib:.1f} MB, peak during "
            f"{self.rss_peak_kib / mib:.1f} MB, after {self.rss_after_kib / mib:.1f} MB "
            f"(growth {(self.rss_peak_kib - self.rss_before_kib) / mib:+.1f} MB)"
        )


def chunked_flood(url: str, pid: int, megabytes: int, path: str = "/oauth/token",
                  timeout: float = 60.0) -> FloodResult:
    """Send up to ``megabytes`` MB as a chunked form body to ``path``; sample RSS meanwhile."""
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    before = rss_kib(pid)
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(rss_kib(pid))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    sent = 0
    response = b""
    deadline = time.monotonic() + timeout
    chunk = b"%x\r\n" % CHUNK + b"a" * CHUNK + b"\r\n"
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        )
        try:
            while sent < megabytes * 1_048_576 and time.monotonic() < deadline:
                readable, _, _ = select.select([sock], [], [], 0)
                if readable:
                    break  # the server answered (or closed): stop sending
                sock.sendall(chunk)
                sent += CHUNK
            else:
                sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server closed its side after answering; read what it sent
        with contextlib.suppress(OSError):
            sock.settimeout(max(1.0, deadline - time.monotonic()))
            while b"\r\n\r\n" not in response or not response.rstrip().endswith(b"}"):
                data = sock.recv(65536)
                if not data:
                    break
                response += data
    time.sleep(0.5)  # let the server finish with the connection before the last sample
    done.set()
    sampler.join()
    after = rss_kib(pid)
    status_line = response.split(b"\r\n", 1)[0].decode("latin-1")
    return FloodResult(status_line, response, sent, before, max([before, *samples, after]), after, samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mb", type=int, default=300, help="megabytes to send at most")
    parser.add_argument("--url", help="a running roost (default: start one on a free loopback port)")
    parser.add_argument("--pid", type=int, help="the running roost's PID (with --url)")
    parser.add_argument("--path", default="/oauth/token")
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    if args.url:
        if not args.pid:
            parser.error("--url needs --pid")
        print(chunked_flood(args.url, args.pid, args.mb, args.path, args.timeout).report())
        return 0
    sys.path.insert(0, str(Path(__file__).parent))
    from e2e_support import RoostServer

    with tempfile.TemporaryDirectory() as tmp:
        server = RoostServer(Path(tmp) / "data").start()
        try:
            assert server.pid is not None
            result = chunked_flood(server.url, server.pid, args.mb, args.path, args.timeout)
            print(result.report())
            print("response:", result.response.decode("latin-1").replace("\r\n", " | "))
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
