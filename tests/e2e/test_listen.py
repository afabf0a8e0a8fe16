"""`roost up` on a port that is taken refuses with one line and a non-zero exit,
whoever holds the port, and `make up` takes the port and host (issue #8, item 12)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from e2e_support import ROOST, RoostServer, free_port, wait_until

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


def run_roost_up(*args: str, cwd: Path) -> tuple[int, str, str]:
    """`roost up ...` that is expected to exit; it is killed (and the test fails) if it serves instead."""
    proc = subprocess.Popen([*ROOST, "up", *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"roost up kept running on a taken port:\n{out}\n{err}") from None
    return proc.returncode, out, err


def assert_refused(code: int, err: str, port: int) -> None:
    assert code != 0
    assert err.strip().splitlines() == [f"roost: cannot listen on 127.0.0.1:{port}: address already in use"], err


@pytest.fixture
def holder() -> Iterator[Callable[[bool], int]]:
    """A plain listening socket on a free port (with SO_REUSEPORT if asked, as granian set it)."""
    socks: list[socket.socket] = []

    def hold(reuse_port: bool) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        socks.append(sock)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        return int(sock.getsockname()[1])

    yield hold
    for sock in socks:
        sock.close()


def test_a_second_roost_on_the_same_port_is_refused(tmp_path: Path,
                                                    make_server: Callable[..., RoostServer]) -> None:
    first = make_server().start()
    token_app = httpx.post(first.url + "/api/v1/apps", data={
        "client_name": "first", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"}).json()
    code, out, err = run_roost_up("--port", str(first.port), "--data-dir", str(tmp_path / "second"),
                                  cwd=tmp_path)
    assert_refused(code, err, first.port)
    assert "serving" not in out
    assert not (tmp_path / "second").exists()  # nothing was started
    # The first server still answers every request, with its own data.
    for _ in range(20):
        r = httpx.get(first.url + "/api/v1/instance", timeout=5)
        assert r.status_code == 200
    assert token_app["client_id"]


@pytest.mark.parametrize("reuse_port", [False, True], ids=["plain", "so_reuseport"])
def test_a_port_held_by_another_program_is_refused(tmp_path: Path, holder: Callable[[bool], int],
                                                   reuse_port: bool) -> None:
    port = holder(reuse_port)
    code, _, err = run_roost_up("--port", str(port), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert_refused(code, err, port)
    assert "Traceback" not in err


def test_an_address_that_is_not_ours_is_refused_in_one_line(tmp_path: Path) -> None:
    code, _, err = run_roost_up("--host", "192.0.2.1", "--port", str(free_port()),
                                "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("roost: cannot listen on 192.0.2.1:"), err


def test_make_up_takes_the_port_and_host(tmp_path: Path) -> None:
    port = free_port()
    # STAMP= skips the venv set-up; BIN is the environment running these tests.
    proc = subprocess.Popen(
        ["make", "-s", "-f", str(REPO / "Makefile"), "up", f"PORT={port}", "HOST=127.0.0.1",
         f"BIN={Path(sys.executable).parent}", "STAMP="],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        start_new_session=True)
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200,
                   30, 0.1, f"make up on port {port}")
        assert (tmp_path / "data").is_dir()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
