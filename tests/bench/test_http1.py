"""Response framing of the open-loop driver's HTTP/1.1 client."""

from __future__ import annotations

from roost.bench.http1 import parse_response


def test_content_length() -> None:
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nServer: x\r\n\r\nhello"
    assert parse_response(raw) == (200, len(raw), False)
    assert parse_response(raw[:-1]) is None
    assert parse_response(raw + b"HTTP/1.1") == (200, len(raw), False)


def test_chunked() -> None:
    raw = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nwiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n"
    assert parse_response(raw) == (201, len(raw), False)
    for cut in range(len(raw) - 1):
        assert parse_response(raw[:cut]) is None


def test_no_body_statuses_and_close() -> None:
    raw = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    assert parse_response(raw) == (204, len(raw), True)


def test_headers_are_case_insensitive() -> None:
    raw = b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}"
    assert parse_response(raw) == (404, len(raw), False)
