"""Resolving the client address: X-Forwarded-For only from trusted proxies, walked from the right."""

from __future__ import annotations

from typing import Any

import pytest

from roost.gateway.client_address import (
    ClientAddressResolver,
    client_address,
    parse_address,
    parse_networks,
    throttle_key,
)

DEFAULT = ClientAddressResolver(parse_networks("127.0.0.0/8,::1"))
WITH_LAN = ClientAddressResolver(parse_networks("127.0.0.0/8, ::1, 10.0.0.0/8"))


def scope(peer: str | None, *forwarded: str) -> dict[str, Any]:
    return {"client": None if peer is None else (peer, 5555),
            "headers": [(b"x-forwarded-for", v.encode()) for v in forwarded]}


@pytest.mark.parametrize(
    ("resolver", "peer", "forwarded", "expected"),
    [
        # An untrusted peer's header is never read, whatever it claims.
        (DEFAULT, "203.0.113.9", ("127.0.0.1",), "203.0.113.9"),
        (DEFAULT, "203.0.113.9", ("198.51.100.1, 127.0.0.1",), "203.0.113.9"),
        (WITH_LAN, "203.0.113.9", ("10.0.0.1",), "203.0.113.9"),
        # A trusted proxy names its client (the rightmost entry).
        (DEFAULT, "127.0.0.1", ("198.51.100.7",), "198.51.100.7"),
        (DEFAULT, "::1", ("198.51.100.7",), "198.51.100.7"),
        # What the client itself put in the header is left of what the proxy appended.
        (DEFAULT, "127.0.0.1", ("127.0.0.1, 198.51.100.7",), "198.51.100.7"),
        (DEFAULT, "127.0.0.1", ("1.1.1.1, 2.2.2.2, 198.51.100.7",), "198.51.100.7"),
        (DEFAULT, "127.0.0.1", ("garbage, 198.51.100.7",), "198.51.100.7"),
        # Several trusted hops are skipped; header lines combine in order.
        (WITH_LAN, "127.0.0.1", ("198.51.100.7, 10.0.0.2, 10.0.0.3",), "198.51.100.7"),
        (WITH_LAN, "127.0.0.1", ("198.51.100.7", "10.0.0.2"), "198.51.100.7"),
        (DEFAULT, "127.0.0.1", ("198.51.100.7, 10.0.0.2",), "10.0.0.2"),
        # Every hop trusted: the furthest one.
        (WITH_LAN, "127.0.0.1", ("10.0.0.5, 10.0.0.2",), "10.0.0.5"),
        # No header: the proxy itself (a local process talking directly).
        (DEFAULT, "127.0.0.1", (), "127.0.0.1"),
        # Garbage where the proxy's entry should be: stop at the last hop we trust.
        (DEFAULT, "127.0.0.1", ("198.51.100.7, unknown",), "127.0.0.1"),
        (DEFAULT, "127.0.0.1", ("",), "127.0.0.1"),
        # Forms proxies write: ports, brackets, IPv4-mapped IPv6.
        (DEFAULT, "127.0.0.1", ("198.51.100.7:4711",), "198.51.100.7"),
        (DEFAULT, "127.0.0.1", ("[2001:db8::1]:4711",), "2001:db8::1"),
        (DEFAULT, "::ffff:127.0.0.1", ("::ffff:198.51.100.7",), "198.51.100.7"),
        # Nothing trusted at all.
        (ClientAddressResolver(parse_networks("")), "127.0.0.1", ("198.51.100.7",), "127.0.0.1"),
        # A peer that is not an address is used as it is, and its header ignored.
        (DEFAULT, "testclient", ("198.51.100.7",), "testclient"),
        (DEFAULT, None, ("198.51.100.7",), None),
    ],
)
def test_resolve(resolver: ClientAddressResolver, peer: str | None, forwarded: tuple[str, ...],
                 expected: str | None) -> None:
    assert resolver.resolve(scope(peer, *forwarded)) == expected


def test_remembered_once_in_the_scope() -> None:
    s = scope("127.0.0.1", "198.51.100.7")
    assert client_address(s) == "127.0.0.1"  # not resolved yet: the socket
    DEFAULT.remember(s)
    s["headers"] = []
    assert client_address(s) == "198.51.100.7"


def test_bad_settings_name_the_entry() -> None:
    with pytest.raises(ValueError, match="'nope'"):
        parse_networks("127.0.0.1,nope")


def test_parse_address() -> None:
    assert str(parse_address(" 192.0.2.1 ")) == "192.0.2.1"
    assert parse_address("192.0.2.1:80:80") is None
    assert parse_address("example.com") is None


def test_throttle_key_groups_an_ipv6_subscriber() -> None:
    assert throttle_key("2001:db8:1:2:3:4:5:6") == throttle_key("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert throttle_key("192.0.2.1") == "192.0.2.1"
    assert throttle_key("testclient") == "testclient"


def test_remembered_resolutions_follow_each_request_and_stay_bounded() -> None:
    from roost.gateway import client_address as module

    resolver = ClientAddressResolver(parse_networks("127.0.0.0/8"))
    # One proxy, many clients behind it: each request gets its own client, the second time too.
    for _ in range(2):
        for n in range(module.MEMO_ENTRIES + 10):
            client = f"198.51.{n // 256}.{n % 256}"
            assert resolver.resolve(scope("127.0.0.1", client)) == client
        assert resolver.resolve(scope("127.0.0.1")) == "127.0.0.1"
        assert resolver.resolve(scope("203.0.113.9", "198.51.100.7")) == "203.0.113.9"
    assert len(resolver._chains) <= module.MEMO_ENTRIES
    assert len(resolver._peers) <= module.MEMO_ENTRIES
