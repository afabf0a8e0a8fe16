"""The connection guard's book-keeping, and the listening socket (runtime/connections.py,
runtime/server.py); the limits on a running server are in tests/e2e/test_connection_limits.py."""

from __future__ import annotations

import socket

import pytest

from roost.runtime.connections import ConnectionGuard, ConnectionLimits, fd_budget
from roost.runtime.server import ListenError, listen
from roost.settings import Settings


def limits(per_ip: int = 2, total: int = 3) -> ConnectionLimits:
    return ConnectionLimits(idle_timeout=1, header_timeout=1, max_header_bytes=1024,
                            max_connections_per_ip=per_ip, max_connections=total)


class Idle:
    """Stands in for a protocol waiting for its next request: eviction releases it."""

    def __init__(self, guard: ConnectionGuard, address: str) -> None:
        self.guard, self.address, self.evicted = guard, address, False

    def evict(self) -> None:
        self.evicted = True
        del self.guard.idle[self]  # type: ignore[arg-type]
        self.guard.release(self.address)


def test_per_address_cap_counts_each_address_apart() -> None:
    guard = ConnectionGuard(limits(per_ip=2, total=100))
    assert guard.admit("10.0.0.1") is None
    assert guard.admit("10.0.0.1") is None
    assert guard.admit("10.0.0.1") == "per_ip_limit"
    assert guard.admit("10.0.0.2") is None
    guard.release("10.0.0.1")
    assert guard.admit("10.0.0.1") is None
    assert guard.open == 3 and guard.by_address == {"10.0.0.1": 2, "10.0.0.2": 1}


def test_released_addresses_are_forgotten() -> None:
    guard = ConnectionGuard(limits())
    guard.admit("10.0.0.1")
    guard.release("10.0.0.1")
    assert guard.open == 0 and guard.by_address == {}


def test_zero_means_no_per_address_cap() -> None:
    guard = ConnectionGuard(limits(per_ip=0, total=1000))
    assert all(guard.admit("10.0.0.1") is None for _ in range(500))


def test_at_the_server_cap_the_oldest_idle_connection_makes_room() -> None:
    guard = ConnectionGuard(limits(per_ip=10, total=3))
    idle = []
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        assert guard.admit(address) is None
        idle.append(Idle(guard, address))
        guard.idle[idle[-1]] = None  # type: ignore[index]
    assert guard.admit("10.0.0.4") is None
    assert [c.evicted for c in idle] == [True, False, False]
    assert guard.open == 3 and "10.0.0.1" not in guard.by_address
    assert guard.closed["evicted_idle"] == 1


def test_at_the_server_cap_with_nothing_idle_the_newcomer_is_refused() -> None:
    guard = ConnectionGuard(limits(per_ip=10, total=2))
    guard.admit("10.0.0.1")
    guard.admit("10.0.0.2")
    assert guard.admit("10.0.0.3") == "server_limit"
    assert guard.open == 2


def test_the_server_cap_stays_under_the_open_files_limit() -> None:
    settings = Settings(max_connections=10**9)
    assert ConnectionLimits.from_settings(settings).max_connections == fd_budget()


def test_listen_refuses_a_port_that_is_listened_on() -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        with pytest.raises(ListenError) as refused:
            listen("127.0.0.1", port)
    assert str(refused.value) == f"cannot listen on 127.0.0.1:{port}: address already in use"


def test_listen_reuses_a_port_whose_listener_is_gone() -> None:
    first = listen("127.0.0.1", 0)
    port = first.getsockname()[1]
    with socket.create_connection(("127.0.0.1", port)):
        accepted, _ = first.accept()
        accepted.close()  # the server closes first: its side of the port sits in TIME_WAIT
    first.close()
    second = listen("127.0.0.1", port)  # SO_REUSEADDR: a restart need not wait for TIME_WAIT
    second.close()


def test_listen_names_an_unknown_host() -> None:
    with pytest.raises(ListenError, match=r"^cannot listen on no-such-host\.invalid:8080: "):
        listen("no-such-host.invalid", 8080)
