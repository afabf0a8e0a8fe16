"""The open-loop driver keeps its arrival rate and times from the due time."""

from __future__ import annotations

import asyncio

from roost.bench.openloop import OpenLoopConfig, run_open_loop
from roost.bench.outcome import SliceOutcome

from .conftest import TinyServer

REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


def drive(server: TinyServer, rate: float, duration_s: float, connections: int) -> SliceOutcome:
    async def main() -> SliceOutcome:
        async with server:
            config = OpenLoopConfig(server.host, server.port, rate, duration_s, connections, timeout_s=5)
            return await run_open_loop(config, lambda i: REQUEST)

    return asyncio.run(main())


def test_keeps_the_arrival_rate(tiny_server: type[TinyServer]) -> None:
    server = tiny_server()
    outcome = drive(server, rate=400, duration_s=1.0, connections=8)
    assert outcome.scheduled == 400
    # Every scheduled request was sent and answered: the server counted them.
    assert abs(server.requests - 400) <= 400 * 0.02
    assert outcome.requests == server.requests
    assert outcome.unsent == 0
    assert outcome.codes == {200: outcome.requests}
    assert outcome.hist.count == 400


def test_spreads_requests_over_time(tiny_server: type[TinyServer]) -> None:
    outcome = drive(tiny_server(), rate=300, duration_s=2.0, connections=4)
    per_bucket = [b.requests for b in outcome.buckets]
    # Two full seconds of ~300 each (plus the tail of the last request):
    # a closed-loop burst would pile everything into the first bucket.
    assert sum(per_bucket) == 600
    assert max(per_bucket) <= 300 * 1.2


def test_waiting_counts_as_latency(tiny_server: type[TinyServer]) -> None:
    # One connection, 20 ms per answer, 200 requests/s due: the server can do
    # only 50/s, so requests queue behind each other. Timed from their due
    # time, later ones wait ever longer (coordinated omission not hidden).
    server = tiny_server(delay_s=0.02)
    outcome = drive(server, rate=200, duration_s=0.5, connections=1)
    assert outcome.scheduled == 100
    assert outcome.requests + outcome.unsent + outcome.socket_errors["timeout"] >= 100
    assert outcome.socket_errors["late"] > 50
    # Request 100 was due at 0.5 s but could not start before 100 x 20 ms.
    assert outcome.hist.percentile(99) > 1_000_000
