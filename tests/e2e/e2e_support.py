"""Helpers for the end-to-end tests: a real `roost up` in a subprocess, plus API helpers.

Every server runs on its own free port with its own data directory, in its
own process group (start_new_session=True) so teardown can stop exactly the
processes it started: SIGTERM to the group, then SIGKILL if it lingers.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx


def console_script(name: str) -> list[str]:
    """The venv's entry point next to this interpreter, else ``python -m name``."""
    script = Path(sys.executable).with_name(name)
    return [str(script)] if script.exists() else [sys.executable, "-m", name]


ROOST = console_script("roost")
OOB = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = "read write follow push"
PASSWORD = "correct-horse-battery"

T = TypeVar("T")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.02,
               message: str = "condition") -> T:
    """Poll ``predicate`` until it returns something truthy; return that value."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = predicate()
        except (AssertionError, httpx.HTTPError) as exc:
            value, last_error = None, exc  # type: ignore[assignment]
        if value:
            return value
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {message}{detail}")
        time.sleep(interval)


@contextlib.contextmanager
def running_roost(base: Path) -> Iterator[RoostServer]:
    """A started `roost up` with its data and logs under ``base``, stopped on exit."""
    server = RoostServer(base / "data", log_dir=base / "logs")
    try:
        server.start()
        yield server
    finally:
        server.stop()


class RoostServer:
    """One `roost up` process tree on a free port and a given data directory."""

    def __init__(self, data_dir: Path, port: int | None = None, log_dir: Path | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.log_dir = Path(log_dir) if log_dir else self.data_dir.parent
        self.proc: subprocess.Popen[bytes] | None = None
        self._starts = itertools.count(1)
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def start(self, env: dict[str, str] | None = None, timeout: float = 30.0) -> RoostServer:
        assert self.proc is None or self.proc.poll() is not None, "server already running"
        child_env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
        child_env.update(env or {})
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = self.log_dir / f"roost-{self.port}-{next(self._starts)}.log"
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [*ROOST, "up", "--port", str(self.port), "--data-dir", str(self.data_dir),
                 "--log-level", "warning"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=child_env, start_new_session=True,
            )
        try:
            self.wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise RuntimeError(f"roost exited during startup:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/ready", timeout=1.0).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"roost not ready after {timeout}s:\n{self.log_tail()}")

    def log_tail(self, chars: int = 4000) -> str:
        if self.log_path is None or not self.log_path.exists():
            return "(no log)"
        return self.log_path.read_text(errors="replace")[-chars:]

    def _signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)  # the group we created with start_new_session

    def wait_exit(self, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout: float = 15.0) -> int | None:
        """Graceful stop: SIGTERM to the process group, SIGKILL if it does not exit.

        Returns the main process's exit code, or None if it had to be SIGKILLed.
        """
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            self._signal_group(signal.SIGTERM)
            code = self.wait_exit(timeout)
            if code is None:
                self._signal_group(signal.SIGKILL)
                self.proc.wait(10)
        # Reap any worker that outlived the main process.
        self._signal_group(signal.SIGKILL)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is None:
            return
        self._signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
        self.proc = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def lag(self) -> dict[str, int]:
        return dict(httpx.get(self.url + "/ready", timeout=5).json().get("consumer_lag", {}))

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every asynchronous log consumer has caught up."""
        wait_until(lambda: all(v == 0 for v in self.lag().values()), timeout, 0.02,
                   "log consumers to catch up")


# --- small API helpers (plain httpx) -----------------------------------------------------------

_unique = itertools.count(1)


def unique_name(prefix: str) -> str:
    return f"{prefix}{os.getpid() % 1000}{next(_unique)}{int(time.time() * 1000) % 100000}"


@dataclass
class App:
    client_id: str
    client_secret: str


@dataclass
class User:
    base_url: str
    username: str
    email: str
    password: str
    token: str
    id: str = ""
    client: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base_url, timeout=10,
                                   headers={"Authorization": f"Bearer {self.token}"})

    def get(self, path: str, **params: Any) -> Any:
        r = self.client.get(path, params=params)
        assert r.status_code == 200, f"GET {path} -> {r.status_code} {r.text}"
        return r.json()

    def post(self, path: str, expect: int = 200, **data: Any) -> Any:
        r = self.client.post(path, json=data)
        assert r.status_code == expect, f"POST {path} -> {r.status_code} {r.text}"
        return r.json()

    def status(self, text: str, **extra: Any) -> dict[str, Any]:
        return dict(self.post("/api/v1/statuses", status=text, **extra))

    def follow(self, other: User) -> dict[str, Any]:
        return dict(self.post(f"/api/v1/accounts/{other.id}/follow"))

    def home_ids(self, limit: int = 40) -> list[str]:
        return [s["id"] for s in self.get("/api/v1/timelines/home", limit=limit)]

    def close(self) -> None:
        self.client.close()


def create_app(base_url: str, name: str = "e2e", scopes: str = SCOPES) -> App:
    r = httpx.post(base_url + "/api/v1/apps", timeout=10,
                   data={"client_name": name, "redirect_uris": OOB, "scopes": scopes})
    assert r.status_code == 200, r.text
    body = r.json()
    return App(body["client_id"], body["client_secret"])


def app_token(base_url: str, app: App, scope: str = SCOPES) -> str:
    r = httpx.post(base_url + "/oauth/token", timeout=10, data={
        "grant_type": "client_credentials", "client_id": app.client_id,
        "client_secret": app.client_secret, "scope": scope})
    assert r.status_code == 200, r.text
    return str(r.json()["access_token"])


def register(base_url: str, username: str | None = None, password: str = PASSWORD,
             app: App | None = None) -> User:
    """Register an account the way clients do (app token + POST /api/v1/accounts)."""
    username = username or unique_name("u")
    app = app or create_app(base_url)
    token = app_token(base_url, app)
    email = f"{username}@example.test"
    r = httpx.post(base_url + "/api/v1/accounts", timeout=10,
                   headers={"Authorization": f"Bearer {token}"},
                   data={"username": username, "email": email, "password": password,
                         "agreement": "true", "locale": "en"})
    assert r.status_code == 200, f"register {username}: {r.status_code} {r.text}"
    user = User(base_url, username, email, password, str(r.json()["access_token"]))
    user.id = str(user.get("/api/v1/accounts/verify_credentials")["id"])
    return user
