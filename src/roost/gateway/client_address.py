"""The client's address, as rate limits and the login throttle see it.

Taken from the socket, unless the socket's peer is a trusted proxy: then
``X-Forwarded-For`` is walked from the right, skipping trusted hops, to the first
address no trusted proxy vouches for (as Rails' RemoteIp and Rack do, except that
the header from an untrusted peer is never read at all). Resolved once per request
by the gateway and kept in the ASGI scope.

Written here rather than using granian's proxy-header wrapper: that one runs only
under granian (not in-process tests), trusts whatever string it meets in the
header, and does not normalise IPv4-mapped or bracketed addresses.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, MutableMapping
from typing import Any, TypeVar

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
SCOPE_KEY = "roost.client_address"


def parse_networks(spec: str) -> tuple[IPNetwork, ...]:
    """``"127.0.0.0/8, ::1, 10.1.2.3"`` -> networks; a bad entry raises ValueError naming it."""
    networks = []
    for item in spec.replace(" ", ",").split(","):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError as exc:
            raise ValueError(f"{item!r} is not an IP address or network") from exc
    return tuple(networks)


def parse_address(raw: str) -> IPAddress | None:
    """An address as proxies write it (``1.2.3.4``, ``1.2.3.4:80``, ``[::1]:80``, ``::1``);
    IPv4-mapped IPv6 becomes IPv4. None for anything else (``unknown``, garbage)."""
    text = raw.strip().strip('"')
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# Resolutions remembered per peer (and per X-Forwarded-For chain behind a trusted
# proxy): parsing addresses with ipaddress on every request cost about a tenth of a
# home-timeline request, and a client keeps its address across its requests. A
# full memo is emptied (forged chains cannot grow it without bound).
MEMO_ENTRIES = 4096


class ClientAddressResolver:
    def __init__(self, trusted_proxies: Iterable[IPNetwork]) -> None:
        self.trusted = tuple(trusted_proxies)
        self._peers: dict[str | None, tuple[str | None, bool]] = {}
        self._chains: dict[tuple[str | None, tuple[bytes, ...]], str | None] = {}

    def is_trusted(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.trusted)

    def resolve(self, scope: MutableMapping[str, Any]) -> str | None:
        peer = scope.get("client")
        host: str | None = peer[0] if peer else None
        known = self._peers.get(host)
        if known is None:
            known = _remember(self._peers, host, self._peer(host))
        address, trusted = known
        if not trusted:
            return address
        chain = tuple(value for name, value in scope.get("headers", ()) if name == b"x-forwarded-for")
        if not chain:
            return address
        key = (address, chain)
        if key in self._chains:
            return self._chains[key]
        return _remember(self._chains, key, self._walk(address, chain))

    def _peer(self, host: str | None) -> tuple[str | None, bool]:
        """The socket peer's address as a key, and whether it is a trusted proxy."""
        current = None if host is None else parse_address(host)
        if current is None:
            return host, False  # not an IP (a unix socket, a test client): used as it is
        return str(current), self.is_trusted(current)

    def _walk(self, peer: str | None, chain: tuple[bytes, ...]) -> str | None:
        """X-Forwarded-For from the right, from a trusted peer, to the first hop no
        trusted proxy vouches for."""
        current = peer
        hops = [hop for value in chain for hop in value.decode("latin-1").split(",")]
        for raw in reversed(hops):
            address = parse_address(raw)
            if address is None:
                # Only a trusted hop can have written this far right, so it is the
                # furthest sender we know; a garbage entry never becomes a key.
                break
            current = str(address)
            if not self.is_trusted(address):
                break
        return current

    def remember(self, scope: MutableMapping[str, Any]) -> str | None:
        address = self.resolve(scope)
        scope[SCOPE_KEY] = address
        return address


K = TypeVar("K")
V = TypeVar("V")


def _remember(memo: dict[K, V], key: K, value: V) -> V:
    if len(memo) >= MEMO_ENTRIES:
        memo.clear()
    memo[key] = value
    return value


def client_address(scope: MutableMapping[str, Any]) -> str | None:
    """The address the gateway resolved for this request (the socket's, if it has not)."""
    if SCOPE_KEY in scope:
        address: str | None = scope[SCOPE_KEY]
        return address
    peer = scope.get("client")
    return peer[0] if peer else None


def throttle_key(address: str | None) -> str:
    """The key per-address limits count under: an IPv6 client is its /64, which one
    subscriber usually holds whole (Mastodon's throttleable_remote_ip does the same)."""
    parsed = None if address is None else parse_address(address)
    if isinstance(parsed, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((parsed, 64), strict=False))
    return str(parsed) if parsed is not None else str(address)
