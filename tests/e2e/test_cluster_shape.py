"""Issue #9's "must show" on a real `roost cluster up --shards 2 --replicas 1`, end to end:

* read-your-writes with every replica held back (recovery_min_apply_delay): the author sees a
  new status at once, and /metrics shows the replicas' lag;
* Redis stopped and started again (by PID, through roost.cluster's supervisor) under a steady
  read/write load: reads keep working from PostgreSQL, home timelines rebuild, and no request
  fails outside the restart window;
* kill -9 of roost under a write load: every acknowledged status exists exactly once, by id and
  by Idempotency-Key, across the shards, and reaches every follower's home timeline.

They share the session's cluster with the real-client suites (``cluster_roost``) and leave it as
they found it: replicas released, Redis and roost running. Every wait is bounded; nothing asserts
a duration.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from functools import partial

import pytest
from cluster_support import (
    ClusterRoost,
    Outcome,
    Recorder,
    all_home_ids,
    metric_samples,
    post_until_acknowledged,
    running,
)
from e2e_support import User, wait_until

from roost.cluster import processes, supervisor

pytestmark = pytest.mark.e2e

WAIT_S = 60.0  # bound on every wait for fanout, replication or a restart (liveness only)
# Far longer than the test: the replicas stay behind until the test releases them.
HOLD_BACK_MS = 600_000
# The restart window: from the moment Redis is stopped until this many seconds after it answers
# PING again. Roost's Redis clients reconnect on their next command, but a process's worker-id
# lease (which it needs to mint ids) is renewed by a heartbeat every third of its TTL (15 s / 3):
# one beat, plus as much again for requests that were waiting on a dead connection.
AFTER_REDIS_BACK_S = 10.0


# -- read-your-writes ---------------------------------------------------------------------------

def lag_seconds(cluster: ClusterRoost) -> dict[str, float]:
    return {labels.get("node", ""): value
            for labels, value in metric_samples(cluster.url, "roost_pg_replica_lag_seconds")}


def replicas_holding(cluster: ClusterRoost, status_id: str) -> list[str]:
    """The replicas that have replayed the status's row."""
    return [node.name for node in cluster.topology.nodes if node.role == "replica"
            and cluster.sql_on(node.name, "SELECT 1 FROM statuses WHERE id = $1", int(status_id))]


def test_read_your_writes_with_the_replicas_held_back(cluster_roost: ClusterRoost,
                                                      new_user: Callable[..., User]) -> None:
    cluster = cluster_roost
    author, reader = new_user(cluster.url), new_user(cluster.url)
    reader.follow(author)
    replicas = [n.name for n in cluster.topology.nodes if n.role == "replica"]
    try:
        for name in replicas:
            supervisor.set_apply_delay(cluster.state_dir, name, HOLD_BACK_MS)
        status = author.status("written while every replica is held back")
        sid = status["id"]
        stored = cluster.sql_on_primaries("SELECT id FROM statuses WHERE id = $1", int(sid))
        assert len(stored) == 1, "the status is not on exactly one shard primary"
        assert replicas_holding(cluster, sid) == [], "a replica was not held back"

        # The author, at once: the status, the profile, the account's statuses.
        assert author.get(f"/api/v1/statuses/{sid}")["id"] == sid
        assert author.get(f"/api/v1/accounts/{author.id}")["statuses_count"] == 1
        assert [s["id"] for s in author.get(f"/api/v1/accounts/{author.id}/statuses")] == [sid]
        assert author.get("/api/v1/accounts/verify_credentials")["statuses_count"] == 1
        # Home timelines are filled by the fanout workers (asynchronous by design): bounded wait,
        # with the replicas still behind, so hydrating the page must read past them.
        wait_until(lambda: sid in author.home_ids(), WAIT_S, 0.05, "the status in the author's home")
        assert replicas_holding(cluster, sid) == [], "the replicas caught up: nothing was shown"

        # The lag metric shows the delay: the replicas are seconds behind their primaries.
        held = wait_until(lambda: {n: v for n, v in lag_seconds(cluster).items()
                                   if n in replicas and v >= 1.0} or None,
                          WAIT_S, 0.2, "roost_pg_replica_lag_seconds to show the delay")
        assert set(held) <= set(replicas)
    finally:
        for name in replicas:
            supervisor.set_apply_delay(cluster.state_dir, name, 0)
    # Released: the replicas replay everything, and the metric says so.
    wait_until(lambda: len(replicas_holding(cluster, sid)) == 1, WAIT_S, 0.1,
               "the replica of the status's shard to replay it")
    wait_until(lambda: all(v == 0 for n, v in lag_seconds(cluster).items() if n in replicas),
               WAIT_S, 0.2, "the replicas' lag back to 0")
    wait_until(lambda: sid in reader.home_ids(), WAIT_S, 0.05, "the status in a follower's home")


# -- Redis restarted mid-run -----------------------------------------------------------------

class SteadyLoad:
    """Writers posting statuses and readers reading a status, a profile, an account's statuses
    and their home, without pause; every answer recorded with its time."""

    def __init__(self, authors: list[User], readers: list[User], seed: str) -> None:
        self.authors, self.readers, self.seed = authors, readers, seed
        self.recorder = Recorder()
        self.acknowledged: list[str] = []
        self._lock = threading.Lock()

    def loops(self) -> list[Callable[[threading.Event], None]]:
        return [*(partial(self._write, a) for a in self.authors),
                *(partial(self._read, r) for r in self.readers)]

    def _write(self, author: User, stop: threading.Event) -> None:
        n = 0
        while not stop.is_set():
            n += 1
            response = self.recorder.call("POST status", author.client.post, "/api/v1/statuses",
                                          json={"status": f"steady write {n}"},
                                          headers={"Idempotency-Key": uuid.uuid4().hex})
            if response is not None and response.status_code == 200:
                with self._lock:
                    self.acknowledged.append(response.json()["id"])
            stop.wait(0.3)

    def _read(self, reader: User, stop: threading.Event) -> None:
        paths = [f"/api/v1/statuses/{self.seed}", f"/api/v1/accounts/{self.authors[0].id}",
                 "/api/v1/timelines/home", f"/api/v1/accounts/{self.authors[1].id}/statuses"]
        n = 0
        while not stop.is_set():
            path = paths[n % len(paths)]
            n += 1
            self.recorder.call(f"GET {path.split('/')[3]}", reader.client.get, path)
            stop.wait(0.05)

    def answers_since(self, start: float) -> int:
        return len(self.recorder.between(start, time.monotonic()))


def test_redis_restarted_mid_run(cluster_roost: ClusterRoost,
                                 new_user: Callable[..., User]) -> None:
    cluster = cluster_roost
    authors = [new_user(cluster.url) for _ in range(2)]
    readers = [new_user(cluster.url) for _ in range(2)]
    for reader in readers:
        for author in authors:
            reader.follow(author)
    seed = authors[0].status("read all through the Redis restart")["id"]
    wait_until(lambda: all(seed in r.home_ids() for r in readers), WAIT_S, 0.05, "the seed fanned out")
    load = SteadyLoad(authors, readers, seed)
    try:
        _restart_redis_under(load, cluster)
    finally:
        # Whatever happened, the next tests get Redis running and a roost that never lost it.
        supervisor.up(cluster.state_dir)
        cluster.restart_roost()


def _restart_redis_under(load: SteadyLoad, cluster: ClusterRoost) -> None:
    probe, seed, recorder = load.readers[0], load.seed, load.recorder
    with running(*load.loops()):
        wait_until(lambda: len(load.acknowledged) >= 4, WAIT_S, 0.05, "the load to get going")
        stopped_at = time.monotonic()
        processes.stop(cluster.redis_record(), signal.SIGTERM, 30)
        assert not cluster.redis_answers()
        # Reads keep working from the database while Redis is down.
        wait_until(lambda: probe.client.get(f"/api/v1/statuses/{seed}").status_code == 200,
                   WAIT_S, 0.1, "a status read with Redis down")
        assert probe.get(f"/api/v1/statuses/{seed}")["id"] == seed
        assert probe.get(f"/api/v1/accounts/{load.authors[0].id}")["id"] == load.authors[0].id
        wait_until(lambda: load.answers_since(stopped_at) >= 40, WAIT_S, 0.05,
                   "the load to run on a Redis-less cluster")
        assert not cluster.redis_answers(), "Redis came back by itself"
        down_until = time.monotonic()

        supervisor.up(cluster.state_dir)  # starts again every recorded node whose PID died
        wait_until(cluster.redis_answers, WAIT_S, 0.05, "Redis to answer again")
        back_at = time.monotonic()
        window_end = back_at + AFTER_REDIS_BACK_S
        wait_until(lambda: load.answers_since(window_end) >= 40, WAIT_S, 0.05,
                   "the load to run past the restart window")

    def shown(outcomes: list[Outcome]) -> str:
        kinds = Counter((o.kind, o.status) for o in outcomes)
        return (f"Redis stopped at +0 s, answered again at +{back_at - stopped_at:.2f} s, window "
                f"until +{window_end - stopped_at:.2f} s; {len(outcomes)} answers {dict(kinds)}:\n"
                + "\n".join(f"{o.at - stopped_at:+.2f}s {o.kind} -> {o.status} {o.detail}"
                             for o in outcomes[:12]))

    failed_outside = [o for o in recorder.outside(stopped_at, window_end) if not o.ok]
    assert not failed_outside, f"errors outside the restart window: {shown(failed_outside)}"
    # Inside it a request may be refused while roost notices (503 with Retry-After), never a 500
    # or a hung or dropped connection.
    wrong_inside = [o for o in recorder.between(stopped_at, window_end)
                    if not (o.ok or (o.status == 503 and "retry-after=None" not in o.detail))]
    assert not wrong_inside, f"inside the restart window: {shown(wrong_inside)}"
    reads_down = [o for o in recorder.between(stopped_at, down_until) if o.kind.startswith("GET")]
    assert any(o.ok for o in reads_down), "no read was served while Redis was down"

    # Timelines rebuild: every acknowledged status (before, during and after the restart) in
    # every follower's home, once.
    wanted = {seed, *load.acknowledged}

    def homes_complete() -> bool:
        return all(wanted <= set(all_home_ids(r)) for r in load.readers)

    wait_until(homes_complete, WAIT_S, 0.2, "every acknowledged status in every follower's home")
    for reader in load.readers:
        ids = all_home_ids(reader)
        assert len(ids) == len(set(ids)), "a status twice in a home timeline"


# -- kill -9 of roost under a write load ---------------------------------------------------------

WRITERS = 4
POSTS_EACH = 8
FOLLOWERS = 3
KILL_AFTER = 6  # acknowledged statuses before the SIGKILL


def test_kill_9_of_roost_under_a_write_load(cluster_roost: ClusterRoost,
                                            new_user: Callable[..., User]) -> None:
    cluster = cluster_roost
    authors = [new_user(cluster.url) for _ in range(WRITERS)]
    followers = [new_user(cluster.url) for _ in range(FOLLOWERS)]
    for follower in followers:
        for author in authors:
            follower.follow(author)
    acked: dict[str, list[tuple[str, str]]] = {a.id: [] for a in authors}  # author -> (key, id)
    lock = threading.Lock()

    def writer(author: User) -> Callable[[threading.Event], None]:
        def loop(stop: threading.Event) -> None:
            for n in range(POSTS_EACH):
                deadline = time.monotonic() + 3 * WAIT_S  # covers the kill and the restart
                key, status = post_until_acknowledged(author, f"{author.username} post {n}", deadline)
                with lock:
                    acked[author.id].append((key, status["id"]))
        return loop

    def acknowledged() -> int:
        with lock:
            return sum(len(v) for v in acked.values())

    url = cluster.url
    with running(*(writer(a) for a in authors)):
        wait_until(lambda: acknowledged() >= KILL_AFTER, WAIT_S, 0.01, "the first acknowledgements")
        killed = cluster.kill_roost()
        assert killed, "no roost process to kill"
        at_kill = acknowledged()
        cluster.up()  # `roost cluster up` again: the engines run, roost is started again
        assert cluster.url == url, "roost came back on another address"
        wait_until(lambda: acknowledged() == WRITERS * POSTS_EACH, 3 * WAIT_S, 0.05,
                   "every writer's statuses acknowledged")
    assert at_kill < WRITERS * POSTS_EACH, "the load was over before the kill"

    pairs = [pair for author in authors for pair in acked[author.id]]
    ids = [int(status_id) for _, status_id in pairs]
    assert len(set(ids)) == len(ids) == WRITERS * POSTS_EACH, "two acknowledgements, one status"

    # Exactly once in PostgreSQL, across the shards: by id, per author, and by Idempotency-Key.
    author_ids = [int(a.id) for a in authors]
    rows = cluster.sql_on_primaries(
        "SELECT id, account_id FROM statuses WHERE account_id = ANY($1::bigint[])", author_ids)
    assert Counter(r["id"] for r in rows) == Counter(ids), "a status missing or stored twice"
    assert Counter(r["account_id"] for r in rows) == dict.fromkeys(author_ids, POSTS_EACH)
    keys = cluster.sql_on_primaries(
        "SELECT account_id, key, status_id FROM idempotency_keys WHERE account_id = ANY($1::bigint[])",
        author_ids)
    assert sorted((str(k["account_id"]), k["key"], str(k["status_id"])) for k in keys) == sorted(
        (author.id, key, sid) for author in authors for key, sid in acked[author.id])

    # Through the API: each author's statuses, newest first, and the counter.
    reader = followers[0]
    for author in authors:
        mine = [int(s["id"]) for s in reader.get(f"/api/v1/accounts/{author.id}/statuses", limit=40)]
        assert mine == sorted((int(sid) for _, sid in acked[author.id]), reverse=True)
        assert reader.get(f"/api/v1/accounts/{author.id}")["statuses_count"] == POSTS_EACH

    # Every acknowledged status reaches every follower's home timeline, once.
    wanted = {str(i) for i in ids}

    def homes_complete() -> bool:
        return all(wanted <= set(all_home_ids(f)) for f in followers)

    wait_until(homes_complete, WAIT_S, 0.2, "every acknowledged status in every follower's home")
    for follower in followers:
        home = all_home_ids(follower)
        assert len(home) == len(set(home)) == len(wanted), (follower.username, len(home))

