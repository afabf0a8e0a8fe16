"""Login protection: a per-login lockout after repeated wrong passwords (loopback included), a
per-address budget for the credential endpoints apart from the general one, and one argon2
verification per attempt whether or not the login exists (no user enumeration by timing)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from argon2 import PasswordHasher

from .harness import Server, assert_error, running_server

PASSWORD = "correct horse battery"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # Loopback, with the loopback exemption on (the default): the per-login lockout still applies.
    # A first lock of ten minutes, so that it cannot end while a slow machine runs the test.
    with running_server(tmp_path_factory.mktemp("login"), client_host="127.0.0.1",
                        login_lockout_base_seconds=600) as server:
        for name in ("lena", "nils", "otto"):
            server.register(name, PASSWORD)
        yield server


def password_grant(srv: Server, username: str, password: str) -> Any:
    return srv.client.post("/oauth/token", data={
        "grant_type": "password", "client_id": srv.client_id, "client_secret": srv.client_secret,
        "username": username, "password": password, "scope": "read"})


def form_login(srv: Server, username: str, password: str) -> Any:
    return srv.client.post("/oauth/authorize", data={
        "client_id": srv.client_id, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob", "scope": "read",
        "username": username, "password": password})


def assert_locked(r: Any) -> None:
    assert_error(r, 429, "Too many requests")
    assert int(r.headers["Retry-After"]) >= 1


@pytest.mark.parametrize("login", ["lena", "ghost@example.com"])
def test_five_wrong_passwords_lock_the_login(srv: Server, login: str) -> None:
    """Known and unknown logins behave alike; while locked even the right password is refused,
    nothing is stored, and other logins are unaffected."""
    for _ in range(5):
        r = password_grant(srv, login, "wrong password")
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant", r.text
    before = srv.fingerprint()
    assert_locked(password_grant(srv, login, "wrong password"))
    assert_locked(password_grant(srv, login, PASSWORD))
    assert_locked(form_login(srv, login, PASSWORD))
    assert srv.fingerprint() == before
    assert password_grant(srv, "nils", PASSWORD).status_code == 200
    # (The lock's end, its growth and the reset on success: tests/unit/services/test_login_throttle.py.)


def test_the_form_counts_failures_too(srv: Server) -> None:
    for _ in range(5):
        r = form_login(srv, "otto", "wrong password")
        assert r.status_code == 401 and "Invalid e-mail, username or password" in r.text
    assert_locked(form_login(srv, "otto", PASSWORD))
    assert_locked(password_grant(srv, "otto", PASSWORD))


def test_one_password_verification_per_attempt_known_or_not(
    srv: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real_verify = PasswordHasher.verify

    def counting(self: PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        calls.append("verify")
        return real_verify(self, stored, password)

    monkeypatch.setattr(PasswordHasher, "verify", counting)
    bodies = {}
    for login, password in [("nils", "wrong password"), ("nils@example.com", "wrong password"),
                            ("nobody", "wrong password"), ("nobody@example.com", PASSWORD),
                            ("nils", PASSWORD)]:
        calls.clear()
        r = password_grant(srv, login, password)
        assert len(calls) == 1, (login, calls)
        bodies[login, password] = r.json()
        calls.clear()
        page = form_login(srv, login, password)
        assert len(calls) == 1, (login, calls)
        assert page.status_code in (200, 401)
    # The same answer for a wrong password and for a login that does not exist.
    refusals = [body for (_, password), body in bodies.items() if password != PASSWORD]
    refusals.append(bodies["nobody@example.com", PASSWORD])
    assert all(body == refusals[0] for body in refusals) and refusals[0]["error"] == "invalid_grant", bodies
    assert "access_token" in bodies["nils", PASSWORD]


def test_the_credential_endpoints_have_their_own_budget(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A password flood from one address meets its own limit and leaves that address's reads alone."""
    with running_server(tmp_path_factory.mktemp("login-ip"), client_host="198.51.100.4",
                        login_attempts_per_ip=3, rate_limit_unauthenticated=50) as server:
        first = server.client.get("/api/v1/timelines/public")
        reads_left = int(first.headers["X-RateLimit-Remaining"])
        for i in range(3):  # different logins, so the per-login lock plays no part
            r = password_grant(server, f"guess{i}", "wrong password")
            assert r.status_code == 400 and r.headers["X-RateLimit-Limit"] == "3", r.text
        limited = password_grant(server, "guess9", "wrong password")
        assert_error(limited, 429, "Too many requests")
        assert limited.headers["X-RateLimit-Limit"] == "3" and int(limited.headers["Retry-After"]) >= 1
        assert_error(form_login(server, "guess9", "wrong password"), 429, "Too many requests")
        after = server.client.get("/api/v1/timelines/public")
        assert after.status_code == 200
        assert int(after.headers["X-RateLimit-Remaining"]) == reads_left - 1


def test_metrics_count_lockouts(srv: Server) -> None:
    text = srv.client.get("/metrics").text
    match = re.search(r"^roost_login_lockout_rejections_total (\S+)$", text, re.M)
    assert match and float(match.group(1)) > 0, text[-2000:]
