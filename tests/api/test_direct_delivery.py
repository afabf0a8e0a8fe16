"""Which home timelines a direct or followers-only status enters must not depend on
whether a timeline had been built (read) before the post, or was dropped since.

Mastodon's rule (FanOutOnWriteService): a direct status goes to the home timelines
of its author and of the mentioned accounts that follow the author; a private one to
the author's followers. A mentioned non-follower reads either through the status
itself and its mention notification, never in the home timeline.

ann posts. Each reader's home timeline is either built before the post, never built,
or built and then dropped after it; the server keeps only two lists in memory, so
the others are also evicted and read back from disk. Every case runs twice: with ann
an ordinary author and with ann a celebrity (merged at read time, not fanned out).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from .harness import Server, User, assert_error, running_server
from .shapes import Shape

STATES = ("built", "cold", "dropped")
FOLLOWERS = [f"fan_{s}" for s in STATES]  # follow ann, mentioned
STRANGERS = [f"stranger_{s}" for s in STATES]  # do not follow ann, mentioned
WATCHER = "watcher"  # follows ann, not mentioned
HOME = {
    **{f: {"dm", "priv"} for f in FOLLOWERS},
    **{s: set() for s in STRANGERS},
    WATCHER: {"priv"},
    "ann": {"dm", "priv"},
}


@dataclass
class World:
    srv: Server
    users: dict[str, User]
    ids: dict[str, str] = field(default_factory=dict)

    def home(self, who: str) -> set[str]:
        r = self.srv.client.get("/api/v1/timelines/home", headers=self.users[who].headers, params={"limit": 40})
        assert r.status_code == 200, r.text
        return {name for name, i in self.ids.items() if i in {s["id"] for s in r.json()}}


@pytest.fixture(scope="module", params=["ordinary", "celebrity"])
def world(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest,
          shape: Shape) -> Iterator[World]:
    # A celebrity (at or above the threshold) is not fanned out to followers: its
    # statuses are merged at read time, except direct ones, which are delivered.
    threshold = 1 if request.param == "celebrity" else 10_000
    with running_server(tmp_path_factory.mktemp("direct"), shape=shape, timeline_hot_lists=2,
                        celebrity_threshold=threshold) as srv:
        names = ["ann", *FOLLOWERS, *STRANGERS, WATCHER]
        users = {n: srv.quick_user(n) for n in names}
        w = World(srv, users)
        for fan in [*FOLLOWERS, WATCHER]:
            srv.follow(users[fan], users["ann"])
        srv.drain()
        for who in names:
            if not who.endswith("_cold"):
                w.home(who)  # built before the post
        mentions = " ".join(f"@{n}" for n in [*FOLLOWERS, *STRANGERS])
        w.ids["dm"] = srv.post(users["ann"], f"{mentions} just for you", visibility="direct")["id"]
        w.ids["priv"] = srv.post(users["ann"], f"{mentions} followers only", visibility="private")["id"]
        srv.drain()
        store = srv.container.backends.timelines
        for who in names:
            if who.endswith("_dropped"):
                srv.call(store.drop, f"home:{users[who].id}")
        yield w


@pytest.mark.parametrize("who", sorted(HOME))
def test_home_timeline(world: World, who: str) -> None:
    assert world.home(who) == HOME[who]
    assert world.home(who) == HOME[who]  # read again: from the store now, not a rebuild


@pytest.mark.parametrize("who", [*FOLLOWERS, *STRANGERS])
def test_every_mentioned_account_can_read_both_and_is_notified(world: World, who: str) -> None:
    user = world.users[who]
    for name in ("dm", "priv"):
        r = world.srv.client.get(f"/api/v1/statuses/{world.ids[name]}", headers=user.headers)
        assert r.status_code == 200, (name, r.text)
    notes = world.srv.client.get("/api/v1/notifications", headers=user.headers).json()
    assert {n["status"]["id"] for n in notes if n["type"] == "mention"} == {world.ids["dm"], world.ids["priv"]}


def test_the_watcher_cannot_read_the_direct_status(world: World) -> None:
    r = world.srv.client.get(f"/api/v1/statuses/{world.ids['dm']}", headers=world.users[WATCHER].headers)
    assert_error(r, 404, "Record not found")


def test_deleting_removes_it_from_every_home(world: World) -> None:
    srv = world.srv
    for name in ("dm", "priv"):
        r = srv.client.delete(f"/api/v1/statuses/{world.ids[name]}", headers=world.users["ann"].headers)
        assert r.status_code == 200, r.text
    srv.drain()
    for who in HOME:
        assert world.home(who) == set(), who
