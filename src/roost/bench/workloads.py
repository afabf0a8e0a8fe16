"""The named workloads, for both load generators.

Each workload exists twice, once as a wrk Lua script in bench/ (closed loop)
and once as a request source for the open-loop driver here; both read the
same data: bearer tokens ordered by reading activity, account ids ordered by
popularity, and a sample of status ids, all taken from STATE.json.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from roost.bench.graph import GraphPlan, ZipfChooser
from roost.bench.state import BenchState


@dataclass(frozen=True, slots=True)
class Workload:
    name: str
    script: str
    path: str  # the URL path wrk uses when the script sends static requests
    needs_state: bool
    description: str


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload("ceiling", "ceiling.lua", "/health", False,
                 "GET /health: a trivial route of the same server"),
        Workload("home", "home.lua", "/", True,
                 "GET /api/v1/timelines/home?limit=20 by Zipf-chosen readers"),
        Workload("post", "post.lua", "/", True, "POST /api/v1/statuses by Zipf-chosen authors"),
        Workload("mixed", "mixed.lua", "/", True,
                 "90% reads (home, public, account timelines, statuses), 10% writes"),
    )
}


@dataclass(frozen=True, slots=True)
class WorkloadData:
    readers: list[str]  # bearer tokens, most active reader first
    targets: list[str]  # account ids, most popular first
    statuses: list[str]  # status ids to read and favourite
    reader_ids: list[str] = field(default_factory=list)  # account ids of ``readers``

    @classmethod
    def from_state(cls, state: BenchState) -> WorkloadData:
        order = GraphPlan(state.params).reader_order()
        return cls(
            readers=[state.accounts[i].token for i in order],
            targets=[a.id for a in state.accounts],
            statuses=list(state.status_ids),
            reader_ids=[state.accounts[i].id for i in order],
        )

    def write_files(self, folder: Path) -> dict[str, str]:
        """Write the Lua inputs; returns the environment pointing at them."""
        env: dict[str, str] = {}
        for var, name, lines in (
            ("ROOST_BENCH_READERS", "readers.txt", self.readers),
            ("ROOST_BENCH_READER_IDS", "reader_ids.txt", self.reader_ids),
            ("ROOST_BENCH_TARGETS", "targets.txt", self.targets),
            ("ROOST_BENCH_STATUSES", "statuses.txt", self.statuses),
        ):
            path = folder / name
            path.write_text("".join(f"{line}\n" for line in lines))
            env[var] = str(path)
        return env


RequestSource = Callable[[int], bytes]


def host_header(target: str) -> str:
    parts = urlsplit(target)
    return parts.netloc or "127.0.0.1"


def _get(host: str, path: str, token: str | None = None) -> bytes:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{auth}\r\n".encode()


def _post(host: str, path: str, token: str, body: bytes = b"") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def request_source(
    workload: Workload, target: str, data: WorkloadData | None, zipf_s: float = 1.0, seed: int = 0
) -> RequestSource:
    """Request ``i`` of ``workload`` as raw HTTP/1.1 bytes, for the open-loop driver."""
    host = host_header(target)
    if workload.name == "ceiling":
        fixed = _get(host, workload.path)
        return lambda i: fixed
    if data is None or not data.readers:
        raise ValueError(f"the {workload.name} workload needs a seeded STATE.json")
    rng = random.Random(seed)
    readers = ZipfChooser(len(data.readers), zipf_s)
    tokens = data.readers

    if workload.name == "home":
        cache: dict[int, bytes] = {}

        def home(i: int) -> bytes:
            r = readers.draw(rng)
            req = cache.get(r)
            if req is None:
                req = cache[r] = _get(host, "/api/v1/timelines/home?limit=20", tokens[r])
            return req

        return home

    if workload.name == "post":
        def post(i: int) -> bytes:
            body = b'{"status":"open-loop post %d","visibility":"public"}' % i
            return _post(host, "/api/v1/statuses", tokens[readers.draw(rng)], body)

        return post

    if workload.name == "mixed":
        if not data.targets or not data.statuses:
            raise ValueError("the mixed workload needs seeded accounts and statuses")
        targets = ZipfChooser(len(data.targets), zipf_s)

        def mixed(i: int) -> bytes:
            reader = readers.draw(rng)
            token = tokens[reader]
            r = rng.random() * 100
            # Same mix as bench/mixed.lua.
            if r < 40:
                return _get(host, "/api/v1/timelines/home?limit=20", token)
            if r < 55:
                return _get(host, "/api/v1/timelines/public?limit=20", token)
            if r < 70:
                return _get(host, f"/api/v1/accounts/{data.targets[targets.draw(rng)]}/statuses?limit=20", token)
            if r < 90:
                return _get(host, f"/api/v1/statuses/{rng.choice(data.statuses)}", token)
            if r < 95:
                body = b'{"status":"open-loop mixed %d","visibility":"public"}' % i
                return _post(host, "/api/v1/statuses", token, body)
            if r < 98:
                return _post(host, f"/api/v1/statuses/{rng.choice(data.statuses)}/favourite", token)
            target = data.targets[targets.draw(rng)]
            if data.reader_ids and target == data.reader_ids[reader]:
                # Following oneself is a 403 by design, not a server error.
                target = data.targets[0] if data.targets[0] != target else data.targets[-1]
            return _post(host, f"/api/v1/accounts/{target}/follow", token)

        return mixed

    raise ValueError(f"unknown workload: {workload.name}")
