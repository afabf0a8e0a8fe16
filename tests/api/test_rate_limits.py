"""Rate limits: X-RateLimit-* headers, 429 with Retry-After and {"error": "Too many requests"},
per token, per IP (unauthenticated) and for registrations; loopback exempt by default."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Server, assert_error, running_server

PER_TOKEN = 3
WINDOW = 300
REGISTRATION_WINDOW = 1800
RESET_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(
        tmp_path_factory.mktemp("limits"), rate_limit_exempt_loopback=False, rate_limit_per_token=PER_TOKEN,
        rate_limit_unauthenticated=6, rate_limit_window_seconds=WINDOW, registrations_per_ip=1,
        registrations_window_seconds=REGISTRATION_WINDOW,
    ) as server:
        yield server


def assert_limited(r: Any, limit: int, window: int = WINDOW) -> None:
    assert_error(r, 429, "Too many requests")
    assert r.headers["X-RateLimit-Limit"] == str(limit)
    assert r.headers["X-RateLimit-Remaining"] == "0"
    assert RESET_RE.fullmatch(r.headers["X-RateLimit-Reset"])
    assert 1 <= int(r.headers["Retry-After"]) <= window


def test_per_token_limit(srv: Server) -> None:
    user = srv.quick_user("limited")
    remaining = []
    for _ in range(PER_TOKEN):
        r = srv.client.get("/api/v1/accounts/verify_credentials", headers=user.headers)
        assert r.status_code == 200
        assert r.headers["X-RateLimit-Limit"] == str(PER_TOKEN)
        assert RESET_RE.fullmatch(r.headers["X-RateLimit-Reset"])
        remaining.append(int(r.headers["X-RateLimit-Remaining"]))
    assert remaining == [2, 1, 0]
    assert_limited(srv.client.get("/api/v1/accounts/verify_credentials", headers=user.headers), PER_TOKEN)
    # A different token of the same user has its own budget.
    other = {"Authorization": f"Bearer {srv.token_for(user.id, 'read write')}"}
    assert srv.client.get("/api/v1/accounts/verify_credentials", headers=other).status_code == 200


def test_a_limited_write_stores_nothing(srv: Server) -> None:
    user = srv.quick_user("writer")
    for i in range(PER_TOKEN):
        assert srv.client.post("/api/v1/statuses", headers=user.headers, json={"status": f"s{i}"}).status_code == 200
    before = srv.fingerprint()
    assert_limited(srv.client.post("/api/v1/statuses", headers=user.headers, json={"status": "one too many"}),
                   PER_TOKEN)
    assert srv.fingerprint() == before


def test_unauthenticated_limit_per_ip(srv: Server) -> None:
    r = srv.client.get("/api/v1/timelines/public")
    assert r.status_code == 200
    remaining = int(r.headers["X-RateLimit-Remaining"])
    for expected in range(remaining - 1, -1, -1):
        r = srv.client.get("/api/v1/timelines/public")
        assert r.status_code == 200 and int(r.headers["X-RateLimit-Remaining"]) == expected
    assert_limited(srv.client.get("/api/v1/timelines/public"), 6)
    assert_limited(srv.client.get("/api/v1/instance"), 6)


def test_registration_limit_per_ip(srv: Server) -> None:
    app_token = srv.token_for(None, "read write")
    headers = {"Authorization": f"Bearer {app_token}"}
    data = {"username": "first", "email": "first@example.com", "password": "long enough password",
            "agreement": "1", "locale": "en"}
    assert srv.client.post("/api/v1/accounts", headers=headers, data=data).status_code == 200
    before = srv.fingerprint()
    r = srv.client.post("/api/v1/accounts", headers=headers, data={**data, "username": "second",
                                                                   "email": "second@example.com"})
    assert_limited(r, 1, window=REGISTRATION_WINDOW)
    assert srv.fingerprint() == before


def test_loopback_is_exempt_by_default(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("loopback"), client_host="127.0.0.1",
                        rate_limit_per_token=1, rate_limit_unauthenticated=1) as local:
        for _ in range(5):
            r = local.client.get("/api/v1/timelines/public")
            assert r.status_code == 200
            assert "X-RateLimit-Limit" not in r.headers


def test_invalid_tokens_count_against_the_ip_limit(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("guessing"), rate_limit_exempt_loopback=False,
                        rate_limit_unauthenticated=2) as server:
        statuses = [
            server.client.get("/api/v1/timelines/home", headers={"Authorization": f"Bearer guess{i}"}).status_code
            for i in range(6)
        ]
        assert 429 in statuses, statuses


# -- the client address behind a proxy ----------------------------------------------------------------


def test_spoofed_forwarded_for_from_an_untrusted_peer_changes_nothing(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with running_server(tmp_path_factory.mktemp("spoof"), client_host="203.0.113.9",
                        rate_limit_unauthenticated=3) as server:
        remaining = [
            server.client.get("/api/v1/timelines/public",
                              headers={"X-Forwarded-For": f"198.51.100.{i}, 127.0.0.1"}).headers["X-RateLimit-Remaining"]
            for i in range(3)
        ]
        # One budget, the peer's (the harness's app registration took the first request of it).
        assert remaining == ["1", "0", "0"], remaining
        assert_limited(server.client.get("/api/v1/timelines/public", headers={"X-Forwarded-For": "127.0.0.1"}), 3)


def test_a_trusted_proxy_names_the_client(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Behind nginx on loopback (trusted by default), each forwarded client has its own budget, and the
    loopback exemption is the proxy's, not theirs; what a client wrote into the header is not believed."""
    with running_server(tmp_path_factory.mktemp("proxied"), client_host="127.0.0.1",
                        rate_limit_unauthenticated=2) as server:
        def get(forwarded: str) -> Any:
            return server.client.get("/api/v1/timelines/public", headers={"X-Forwarded-For": forwarded})

        assert get("198.51.100.1").headers["X-RateLimit-Limit"] == "2"
        assert get("198.51.100.1").status_code == 200
        assert_limited(get("198.51.100.1"), 2)
        # The same client claiming to be loopback or someone else, as nginx would forward it.
        assert_limited(get("127.0.0.1, 198.51.100.1"), 2)
        assert_limited(get("198.51.100.99, 198.51.100.1"), 2)
        # Another client is unaffected; the proxy's own requests stay exempt.
        assert get("198.51.100.2").status_code == 200
        local = server.client.get("/api/v1/timelines/public")
        assert local.status_code == 200 and "X-RateLimit-Limit" not in local.headers


def test_trusted_proxies_setting(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A proxy on the LAN is believed only once listed; with nothing trusted, loopback's header is ignored."""
    with running_server(tmp_path_factory.mktemp("lan"), client_host="10.0.0.2", rate_limit_unauthenticated=1,
                        trusted_proxies="10.0.0.0/8") as server:
        assert server.client.get("/api/v1/timelines/public", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
        assert server.client.get("/api/v1/timelines/public", headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    with running_server(tmp_path_factory.mktemp("none"), client_host="127.0.0.1", rate_limit_unauthenticated=1,
                        trusted_proxies="") as server:
        r = server.client.get("/api/v1/timelines/public", headers={"X-Forwarded-For": "198.51.100.1"})
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers  # loopback, exempt
