"""Body parsing: what clients send is read as they meant it, and every malformed
body is a BadRequest (400), never another exception."""

from __future__ import annotations

import pytest

from roost.errors import BadRequest
from roost.gateway.body import parse_json, parse_urlencoded


@pytest.mark.parametrize(("raw", "expected"), [
    (b"a=1&b=", [("a", "1"), ("b", "")]),
    (b"status=hello+world%21", [("status", "hello world!")]),
    ("status=é🦜".encode(), [("status", "é🦜")]),  # raw UTF-8, as curl -d sends it
    (b"status=%C3%A9", [("status", "é")]),
    (b"id%5B%5D=1&id%5B%5D=2", [("id[]", "1"), ("id[]", "2")]),
    (b"", []),
])
def test_urlencoded_reads_what_clients_send(raw: bytes, expected: list[tuple[str, str]]) -> None:
    assert parse_urlencoded(raw, 10) == expected


@pytest.mark.parametrize("raw", [b"a=%zz", b"a=%4", b"a=%", b"a=%ff", b"a=\xc3", b"a=\xed\xa0\x80", b"%ff=1"])
def test_urlencoded_refuses_bad_escapes_and_invalid_utf8(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_urlencoded(raw, 10)


def test_urlencoded_field_limit() -> None:
    assert len(parse_urlencoded(b"&".join(b"f=1" for _ in range(10)), 10)) == 10
    with pytest.raises(BadRequest, match="more than 10 fields"):
        parse_urlencoded(b"&".join(b"f=1" for _ in range(11)), 10)


@pytest.mark.parametrize("raw", [b"[]", b"1", b"null", b'"s"', b"{", b"\xff", b'{"a":' * 1100 + b"1" + b"}" * 1100])
def test_json_must_be_an_object(raw: bytes) -> None:
    with pytest.raises(BadRequest):
        parse_json(raw)


def test_json_object() -> None:
    assert parse_json(b'{"status": "hi", "media_ids": ["1"]}') == {"status": "hi", "media_ids": ["1"]}
