"""Request bodies (issue #8, items 2 and 8): read within the route's limit while they
stream, cut when they trickle, and every malformed body a 400 with Mastodon's error
body and no logged traceback; unsupported methods are a 405 that names the allowed ones.

The size tests drive the ASGI app directly with a ``receive`` that produces the body
lazily, and count what the app asked for: a bound on what it read (and so held),
without timing anything."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import anyio
import pytest

from roost.errors import PayloadTooLarge
from roost.gateway.routes import TABLE
from roost.settings import Settings

from .harness import Server, User, assert_error, running_server
from .shapes import Shape

PARSE_ERROR = "Error occurred while parsing request parameters"
CHUNK = 64 * 1024
FLOOD = 300 * 1024 * 1024
LIMITS = {"max_body_bytes": 64 * 1024, "max_auth_body_bytes": 8 * 1024,
          "body_idle_seconds": 0.3, "body_timeout_seconds": 1.0}
FORM = "application/x-www-form-urlencoded"
BOUNDARY = "roostboundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("body"), **LIMITS) as server:
        yield server


@pytest.fixture(scope="module")
def alice(srv: Server) -> User:
    return srv.quick_user("alice")


@pytest.fixture(scope="module")
def roomy(tmp_path_factory: pytest.TempPathFactory, shape: Shape) -> Iterator[Server]:
    """Limits roomy enough that the malformed bodies below reach their parsers."""
    with running_server(tmp_path_factory.mktemp("roomy"), shape=shape, max_body_bytes=1 << 20,
                        max_auth_body_bytes=1 << 20) as server:
        yield server


@pytest.fixture(scope="module")
def bob(roomy: Server) -> User:
    return roomy.quick_user("bob")


@pytest.fixture(autouse=True)
def no_error_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A client's mistake is answered, never logged as a server error (with its traceback)."""
    with caplog.at_level(logging.WARNING, logger="roost"):
        yield
    errors = [r for r in caplog.records if r.name.startswith("roost") and r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


# -- driving the ASGI app with a lazy body --------------------------------------------------------


@dataclass
class Exchange:
    """One request played against the app: what it read, and what it answered."""

    status: int = 0
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    received: int = 0  # body bytes the app pulled through receive()


Receive = Callable[[], Awaitable[dict[str, Any]]]


def play(srv: Server, method: str, path: str, headers: dict[str, str],
         receive_factory: Callable[[Exchange], Receive]) -> Exchange:
    app = srv.client.app
    exchange = Exchange()
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
        "root_path": "", "client": ("testclient", 50000), "server": ("testserver", 80),
        "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "testserver", **headers}.items()],
    }

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            exchange.status = message["status"]
            exchange.headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
        elif message["type"] == "http.response.body":
            exchange.body += message.get("body", b"")

    async def run() -> None:
        # Liveness bound only: a server that never answers fails here instead of hanging.
        with anyio.fail_after(30):
            await app(scope, receive_factory(exchange), send)  # type: ignore[operator]

    srv.call(run)
    return exchange


def lazy_body(total: int, first: bytes = b"", filler: bytes = b"a") -> Callable[[Exchange], Receive]:
    """``first`` then filler up to ``total`` bytes, made one chunk at a time as asked for."""

    def factory(exchange: Exchange) -> Receive:
        chunk = filler * CHUNK

        async def receive() -> dict[str, Any]:
            if exchange.received == 0 and first:
                body = first
            else:
                body = chunk[: max(0, total - exchange.received)]
            exchange.received += len(body)
            return {"type": "http.request", "body": body, "more_body": exchange.received < total}

        return receive

    return factory


def assert_413(exchange: Exchange) -> None:
    assert exchange.status == 413, exchange.body
    assert exchange.body == b'{"error":"Request entity too large"}'
    assert exchange.headers.get("connection") == "close"


MULTIPART_FILE_HEAD = (
    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="big.bin"\r\n'
    "Content-Type: application/octet-stream\r\n\r\n"
).encode()


@pytest.mark.parametrize(("content_type", "first"), [
    (FORM, b"grant_type="), ("application/json", b'{"grant_type": "'), (MULTIPART, MULTIPART_FILE_HEAD),
], ids=["form", "json", "multipart file"])
def test_a_300_mb_chunked_body_is_cut_at_the_limit_while_streaming(
    srv: Server, content_type: str, first: bytes
) -> None:
    """No Content-Length: the app stops pulling the body one chunk past the limit."""
    limit = LIMITS["max_auth_body_bytes"]
    exchange = play(srv, "POST", "/oauth/token", {"content-type": content_type, "transfer-encoding": "chunked"},
                    lazy_body(FLOOD, first))
    assert_413(exchange)
    assert exchange.received <= limit + CHUNK, f"read {exchange.received} bytes for a {limit}-byte limit"


def test_the_limit_is_the_routes(srv: Server, alice: User) -> None:
    """/oauth/token takes a small form; an ordinary API route a larger JSON body."""
    limit = LIMITS["max_body_bytes"]
    headers = {"content-type": "application/json", "authorization": f"Bearer {alice.token}"}
    exchange = play(srv, "POST", "/api/v1/statuses", headers, lazy_body(FLOOD, b'{"status": "'))
    assert_413(exchange)
    assert limit - CHUNK < exchange.received <= limit + CHUNK

    # A body above the auth forms' limit but well within the API's is read and parsed.
    padding = "p" * (LIMITS["max_auth_body_bytes"] * 2)
    r = srv.client.post("/api/v1/statuses", headers=alice.headers, json={"status": "", "padding": padding})
    assert_error(r, 422)
    r = srv.client.post("/oauth/token", data={"grant_type": "password", "padding": padding})
    assert_error(r, 413)


def test_a_declared_content_length_over_the_limit_is_refused_before_reading(srv: Server) -> None:
    exchange = play(srv, "POST", "/oauth/token", {"content-type": FORM, "content-length": str(FLOOD)},
                    lazy_body(FLOOD))
    assert_413(exchange)
    assert exchange.received == 0


def test_every_route_names_a_body_limit_setting() -> None:
    settings = Settings()
    for e in TABLE.endpoints:
        assert isinstance(getattr(settings, e.body_limit), int), (e.method, e.path, e.body_limit)
    assert settings.max_media_body_bytes > settings.max_body_bytes > settings.max_auth_body_bytes


def test_payload_too_large_asks_to_close_the_connection() -> None:
    from roost.gateway.body import too_large

    assert isinstance(too_large(), PayloadTooLarge)
    assert too_large().extra["headers"] == {"Connection": "close"}


# -- slow bodies ----------------------------------------------------------------------------------


def stalled_body(exchange: Exchange) -> Receive:
    """One chunk, then nothing: the client keeps the request open without sending."""
    async def receive() -> dict[str, Any]:
        if exchange.received == 0:
            exchange.received = 5
            return {"type": "http.request", "body": b"grant", "more_body": True}
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    return receive


def trickling_body(exchange: Exchange) -> Receive:
    """A byte every 50 ms, forever: never idle, never done."""
    async def receive() -> dict[str, Any]:
        if exchange.received:
            await anyio.sleep(0.05)
        exchange.received += 1
        return {"type": "http.request", "body": b"a", "more_body": True}

    return receive


@pytest.mark.parametrize("receive", [stalled_body, trickling_body], ids=["idle", "trickle"])
def test_a_slow_body_is_cut_with_408(srv: Server, receive: Callable[[Exchange], Receive]) -> None:
    exchange = play(srv, "POST", "/oauth/token", {"content-type": FORM, "transfer-encoding": "chunked"}, receive)
    assert exchange.status == 408, exchange.body
    assert exchange.body == b'{"error":"The request body was not received in time"}'
    assert exchange.headers.get("connection") == "close"


# -- malformed bodies -------------------------------------------------------------------------------


def part(name: str | None, value: str, filename: str | None = None, header: str | None = None) -> str:
    disposition = "form-data" + (f'; name="{name}"' if name is not None else "")
    disposition += f'; filename="{filename}"' if filename else ""
    head = header if header is not None else f"Content-Disposition: {disposition}"
    return f"--{BOUNDARY}\r\n{head}\r\n\r\n{value}\r\n"


def multipart(*parts: str) -> bytes:
    return ("".join(parts) + f"--{BOUNDARY}--\r\n").encode()


MALFORMED: dict[str, tuple[str, bytes]] = {
    "multipart without a boundary": ("multipart/form-data", multipart(part("grant_type", "password"))),
    "multipart with an empty boundary": ("multipart/form-data; boundary=", multipart(part("a", "b"))),
    "a part without a name": (MULTIPART, multipart(part(None, "password"))),
    "a part with a broken header": (MULTIPART, multipart(part("a", "b", header="Content-Disposition form-data"))),
    "a part header without an end": (MULTIPART, f"--{BOUNDARY}\r\nContent-Disposition: form-data".encode()),
    "a body cut before its closing boundary": (MULTIPART, part("grant_type", "password").encode()),
    "a body that is not multipart": (MULTIPART, b"grant_type=password"),
    "invalid UTF-8 in a multipart field": (MULTIPART, multipart(part("grant_type", "pass")).replace(b"pass", b"\xff")),
    "over 1,000 multipart fields": (MULTIPART, multipart(*[part(f"f{i}", "x") for i in range(1001)])),
    "too many files": (MULTIPART, multipart(*[part(f"f{i}", "x", filename="a.png") for i in range(9)])),
    "a NUL charset in the Content-Type": (f'multipart/form-data; charset="\0"; boundary={BOUNDARY}',
                                          multipart(part("a", "b"))),
    "over 1,000 form fields": (FORM, "&".join(f"f{i}=x" for i in range(1001)).encode()),
    "invalid percent-encoding": (FORM, b"grant_type=pass%zzword"),
    "a truncated percent-escape": (FORM, b"grant_type=password%4"),
    "invalid UTF-8, escaped": (FORM, b"grant_type=%ff%fe"),
    "invalid UTF-8, raw": (FORM, b"grant_type=\xff\xfe"),
    "JSON nested absurdly deep": ("application/json", b'{"a":' * 2000 + b"1" + b"}" * 2000),
    "a JSON array": ("application/json", b"[1, 2]"),
    "a JSON string": ("application/json", b'"grant_type"'),
    "invalid UTF-8 in JSON": ("application/json", b'{"grant_type": "\xff"}'),
}


@pytest.mark.parametrize("path", ["/oauth/token", "/api/v1/accounts/1/unfollow"], ids=["static", "templated"])
@pytest.mark.parametrize("case", MALFORMED, ids=str)
def test_a_malformed_body_is_a_400_without_a_traceback(roomy: Server, bob: User, path: str, case: str) -> None:
    content_type, content = MALFORMED[case]
    r = roomy.client.post(path, content=content, headers={"Content-Type": content_type, **bob.headers})
    assert_error(r, 400)
    assert r.json()["error"].startswith(PARSE_ERROR), r.json()


@pytest.mark.parametrize(("content_type", "content"), [
    (FORM, "client_name=é🦜&redirect_uris=urn:ietf:wg:oauth:2.0:oob".encode()),
    (MULTIPART, multipart(part("client_name", "é🦜"), part("redirect_uris", "urn:ietf:wg:oauth:2.0:oob"))),
], ids=["form", "multipart"])
def test_a_form_in_raw_utf8_is_read_as_utf8(srv: Server, content_type: str, content: bytes) -> None:
    """curl -d sends raw UTF-8: starlette's urlencoded parser made "é" into "Ã©"."""
    r = srv.client.post("/api/v1/apps", content=content, headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "é🦜"


def test_a_file_part_on_a_route_that_takes_none_is_ignored(srv: Server) -> None:
    r = srv.client.post("/api/v1/apps", data={"client_name": "with a file", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob"},
                        files={"avatar": ("a.png", b"\x89PNG" + b"x" * 2048, "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "with a file"


def test_an_empty_multipart_post_is_no_parameters(srv: Server, alice: User) -> None:
    r = srv.client.post("/api/v1/notifications/clear", headers={**alice.headers, "Content-Type": MULTIPART})
    assert r.status_code == 200, r.text


# -- methods ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("TRACE", "/api/v1/statuses/1", "DELETE, GET, HEAD"),
    ("TRACE", "/oauth/token", "POST"),
    ("CONNECT", "/api/v1/apps", "POST"),
    ("PROPFIND", "/api/v1/timelines/home", "GET, HEAD"),
    ("PUT", "/api/v1/statuses", "POST"),
    ("POST", "/health", "GET, HEAD"),
])
def test_an_unsupported_method_is_a_405_naming_the_allowed_ones(
    srv: Server, method: str, path: str, allow: str
) -> None:
    r = srv.client.request(method, path)
    assert_error(r, 405, "Method not allowed")
    assert r.headers.get("allow") == allow


def test_an_unknown_path_is_still_a_404_without_allow(srv: Server) -> None:
    r = srv.client.request("TRACE", "/api/v1/nope")
    assert_error(r, 404)
    assert "allow" not in r.headers


def test_settings_read_from_the_environment() -> None:
    settings = Settings.from_env({"ROOST_MAX_FORM_FIELDS": "10", "ROOST_BODY_IDLE_SECONDS": "2.5",
                                  "ROOST_MAX_MEDIA_BODY_BYTES": "1000"})
    assert (settings.max_form_fields, settings.body_idle_seconds, settings.max_media_body_bytes) == (10, 2.5, 1000)
