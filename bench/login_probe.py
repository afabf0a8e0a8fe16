"""Login probes against a real `roost up` on loopback (issue 8, item 7; docs/SECURITY.md).

    python bench/login_probe.py flood  [--attempts 600] [--concurrency 16]
    python bench/login_probe.py timing [--rounds 40]

Each run starts its own `roost up` on a free loopback port with a fresh data
directory (in its own process group, stopped by its pid at the end), creates its
accounts with `roost accounts create`, and prints one JSON summary.

flood:  wrong passwords for one account as fast as the client can send them, with
        ROOST_RATE_LIMIT_EXEMPT_LOOPBACK=0 so loopback meets the limits a remote client
        would. Reports how many were answered before the first 429, how many passwords
        were actually checked, and whether the same address can still read. A second
        phase rotates X-Forwarded-For on every request (loopback is a trusted proxy by
        default, so each request looks like a new client) against another account: the
        per-address budget no longer helps there, the per-login lockout still does.
timing: the mean and median time of a password grant for an existing user with a
        wrong password, an unknown username and an unknown e-mail, interleaved. The
        lockout is switched off for this probe only (it measures the hash, not the throttle).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

ROOST = [str(Path(sys.executable).with_name("roost"))]
OOB = "urn:ietf:wg:oauth:2.0:oob"
PASSWORD = "the-right-password-1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="roost-login-probe-")
        self.data = Path(self.tmp.name) / "data"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}, **env}
        self.proc: subprocess.Popen[bytes] | None = None

    def create_account(self, username: str) -> None:
        subprocess.run([*ROOST, "accounts", "create", username, "--email", f"{username}@example.test",
                        "--password", PASSWORD, "--data-dir", str(self.data)],
                       check=True, capture_output=True, env=self.env, timeout=120)

    def __enter__(self) -> Server:
        self.log = open(Path(self.tmp.name) / "roost.log", "wb")
        self.proc = subprocess.Popen(
            [*ROOST, "up", "--host", "127.0.0.1", "--port", str(self.port), "--data-dir", str(self.data)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self.env,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError("roost did not become ready")

    def __exit__(self, *_: object) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this probe created
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            self.log.close()
        self.tmp.cleanup()


def register_app(url: str) -> dict[str, str]:
    r = httpx.post(f"{url}/api/v1/apps", data={"client_name": "probe", "redirect_uris": OOB,
                                                 "scopes": "read write"})
    r.raise_for_status()
    return {"client_id": r.json()["client_id"], "client_secret": r.json()["client_secret"]}


def grant(app: dict[str, str], username: str, password: str) -> dict[str, str]:
    return {"grant_type": "password", "username": username, "password": password, "scope": "read", **app}


async def flood_phase(url: str, app: dict[str, str], victim: str, attempts: int, concurrency: int,
                      spoof: bool) -> dict[str, Any]:
    statuses: dict[int, int] = {}  # by the order the requests were sent
    queue = iter(range(attempts))
    started = time.perf_counter()

    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def worker() -> None:
            for i in queue:
                headers = {"X-Forwarded-For": f"198.18.{i // 250}.{i % 250 + 1}"} if spoof else {}
                r = await client.post("/oauth/token", data=grant(app, victim, f"guess-{i}"), headers=headers)
                statuses[i] = r.status_code

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    refused = [i for i, status in statuses.items() if status == 429]
    return {
        "attempts": attempts,
        "seconds": round(elapsed, 2),
        # Requests sent before the first one answered 429 (all of them got an answer).
        "sent_before_first_429": min(refused) if refused else attempts,
        "passwords_checked_and_refused_400": sum(1 for s in statuses.values() if s == 400),
        "statuses": dict(Counter(statuses.values())),
    }


def flood(args: argparse.Namespace) -> dict[str, Any]:
    with Server({"ROOST_RATE_LIMIT_EXEMPT_LOOPBACK": "0"}) as server:
        for name in ("victim", "victim2", "reader"):
            server.create_account(name)
        url = server.url
        app = register_app(url)
        reader = httpx.post(f"{url}/oauth/token", data=grant(app, "reader", PASSWORD))
        reader.raise_for_status()
        reader_headers = {"Authorization": f"Bearer {reader.json()['access_token']}"}

        plain = asyncio.run(flood_phase(url, app, "victim", args.attempts, args.concurrency, spoof=False))
        after = {
            "public_timeline_unauthenticated": httpx.get(f"{url}/api/v1/timelines/public").status_code,
            "verify_credentials_with_token": httpx.get(f"{url}/api/v1/accounts/verify_credentials",
                                                       headers=reader_headers).status_code,
            "victim_right_password": httpx.post(f"{url}/oauth/token",
                                                data=grant(app, "victim", PASSWORD)).status_code,
            "another_login_same_address": httpx.post(f"{url}/oauth/token",
                                                     data=grant(app, "reader", PASSWORD)).status_code,
        }
        rotated = asyncio.run(flood_phase(url, app, "victim2", args.attempts, args.concurrency, spoof=True))
        right = httpx.post(f"{url}/oauth/token", data=grant(app, "victim2", PASSWORD),
                           headers={"X-Forwarded-For": "198.18.9.9"})
        rotated["victim_right_password_afterwards"] = right.status_code
        rotated["retry_after"] = right.headers.get("retry-after")
    return {"probe": "login flood, loopback exemption off", "same_address": plain,
            "same_address_afterwards": after, "rotating_x_forwarded_for": rotated}


def timing(args: argparse.Namespace) -> dict[str, Any]:
    with Server({"ROOST_LOGIN_FAILURES_BEFORE_LOCKOUT": "1000000000"}) as server:
        server.create_account("known")
        app = register_app(server.url)
        cases = {"existing user, wrong password": lambda i: ("known", f"wrong-{i}"),
                 "unknown username": lambda i: (f"nobody{i}", f"wrong-{i}"),
                 "unknown e-mail": lambda i: (f"nobody{i}@example.test", f"wrong-{i}")}
        times: dict[str, list[float]] = {name: [] for name in cases}
        with httpx.Client(base_url=server.url, timeout=30) as client:
            for i in range(args.rounds + 2):
                for name, make in cases.items():
                    login, password = make(i)
                    started = time.perf_counter()
                    r = client.post("/oauth/token", data=grant(app, login, password))
                    if i >= 2:  # the first rounds warm the connection and caches
                        times[name].append((time.perf_counter() - started) * 1000)
                    assert r.status_code == 400, r.text
    return {"probe": "password grant time, ms", "rounds": args.rounds,
            **{name: {"mean": round(statistics.fmean(v), 1), "median": round(statistics.median(v), 1)}
               for name, v in times.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="probe", required=True)
    f = sub.add_parser("flood")
    f.add_argument("--attempts", type=int, default=600)
    f.add_argument("--concurrency", type=int, default=16)
    f.set_defaults(run=flood)
    t = sub.add_parser("timing")
    t.add_argument("--rounds", type=int, default=40)
    t.set_defaults(run=timing)
    args = parser.parse_args()
    print(json.dumps(args.run(args), indent=2))


if __name__ == "__main__":
    main()
