"""Who finds which status in full-text search (GET /api/v2/search), as in Mastodon 4.2+:

* public statuses of authors who opted in (``indexable``) - by any signed-in user;
* otherwise only the author, the accounts it mentions, and those who favourited or
  reblogged it - and only while they may see it;
* nothing at all for a caller without a user.

Authors: "open" (indexable) and "shy" (not indexable, the default). Each writes one status
of each visibility. Viewers: the author, a follower, a mentioned account, a favouriter
(who follows, so may favourite the private one), a reblogger of the public and unlisted
ones, a stranger, and anonymous.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from .harness import Server, User, assert_error, running_server, wait_until

VISIBILITIES = ("public", "unlisted", "private", "direct")
AUTHORS = ("open", "shy")
VIEWERS = ("author", "follower", "mentioned", "favouriter", "reblogger", "stranger", "anon")


def expected(author: str, visibility: str, viewer: str) -> bool:
    """Mastodon's rule, written out cell by cell."""
    if viewer == "anon":
        return False
    if viewer in ("author", "mentioned"):
        return True
    if viewer == "favouriter":  # follows the author, so may see (and favourite) all but direct
        return visibility != "direct"
    if viewer == "reblogger":  # only public and unlisted statuses can be reblogged
        return visibility in ("public", "unlisted")
    return visibility == "public" and author == "open"  # follower, stranger


CELLS = [(a, v, w) for a in AUTHORS for v in VISIBILITIES for w in VIEWERS]


@dataclass
class World:
    srv: Server
    users: dict[str, User] = field(default_factory=dict)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)
    words: dict[tuple[str, str], str] = field(default_factory=dict)

    def headers(self, who: str) -> dict[str, str]:
        return {} if who == "anon" else self.users[who].headers

    def search(self, who: str, q: str, **params: Any) -> list[str]:
        r = self.srv.client.get("/api/v2/search", headers=self.headers(who), params={"q": q, **params})
        assert r.status_code == 200, r.text
        return [s["id"] for s in r.json()["statuses"]]

    def viewer(self, author: str, role: str) -> str:
        return author if role == "author" else f"{role}_{author}"


def set_indexable(srv: Server, user: User, value: bool) -> dict[str, Any]:
    r = srv.client.patch("/api/v1/accounts/update_credentials", headers=user.headers,
                         data={"indexable": "true" if value else "false"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def populate(srv: Server) -> World:
    """The authors, their viewers and statuses on ``srv``, indexed (also run on the cluster
    shape by tests/cluster/test_search_on_postgres.py)."""
    w = World(srv)
    for author in AUTHORS:
        w.users[author] = srv.quick_user(author)
        for role in VIEWERS[1:-1]:
            w.users[f"{role}_{author}"] = srv.quick_user(f"{role}_{author}")
    assert set_indexable(srv, w.users["open"], True)["indexable"] is True
    for author in AUTHORS:
        u = w.users[author]
        srv.follow(w.users[f"follower_{author}"], u)
        srv.follow(w.users[f"favouriter_{author}"], u)
        for visibility in VISIBILITIES:
            word = f"zq{author}{visibility}"
            w.words[author, visibility] = word
            status = srv.post(u, f"@mentioned_{author} {visibility} {word}", visibility=visibility)
            w.ids[author, visibility] = status["id"]
            if visibility != "direct":
                r = srv.client.post(f"/api/v1/statuses/{status['id']}/favourite",
                                    headers=w.users[f"favouriter_{author}"].headers)
                assert r.status_code == 200, r.text
            if visibility in ("public", "unlisted"):
                r = srv.client.post(f"/api/v1/statuses/{status['id']}/reblog",
                                    headers=w.users[f"reblogger_{author}"].headers)
                assert r.status_code == 200, r.text
    srv.drain()
    for key, word in w.words.items():  # the index is fed from the log
        wait_until(lambda word=word, author=key[0]: w.search(author, word), what=f"{key} indexed")
    return w


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("search-visibility")) as srv:
        yield populate(srv)


@pytest.mark.parametrize(("author", "visibility", "viewer"), CELLS)
def test_search_matrix(world: World, author: str, visibility: str, viewer: str) -> None:
    who = "anon" if viewer == "anon" else world.viewer(author, viewer)
    found = world.search(who, world.words[author, visibility])
    assert found == ([world.ids[author, visibility]] if expected(author, visibility, viewer) else [])


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("author", AUTHORS)
def test_one_word_in_every_status(world: World, author: str, viewer: str) -> None:
    """"@mentioned_<author>" is in each of the author's statuses: one query returns exactly
    the cells the viewer may find, newest first."""
    who = "anon" if viewer == "anon" else world.viewer(author, viewer)
    found = world.search(who, f"mentioned_{author}", limit=40)
    want = [world.ids[author, v] for v in reversed(VISIBILITIES) if expected(author, v, viewer)]
    assert found == want


def test_account_id_filter_keeps_the_rules(world: World) -> None:
    shy, opened = world.users["shy"], world.users["open"]
    assert world.search("stranger_open", "zqopenpublic", account_id=shy.id) == []
    assert world.search("stranger_open", "zqopenpublic", account_id=opened.id) == [world.ids["open", "public"]]
    assert world.search("favouriter_shy", "zqshyprivate", account_id=shy.id) == [world.ids["shy", "private"]]
    assert world.search("favouriter_shy", "zqshyprivate", account_id=opened.id) == []


def test_account_entity_shows_indexable(world: World) -> None:
    srv = world.srv
    assert srv.get(f"/api/v1/accounts/{world.users['open'].id}")["indexable"] is True
    assert srv.get(f"/api/v1/accounts/{world.users['shy'].id}")["indexable"] is False
    me = srv.get("/api/v1/accounts/verify_credentials", world.users["shy"])
    assert me["indexable"] is False and me["source"]["indexable"] is False


def test_opting_in_and_out_changes_what_strangers_find(world: World) -> None:
    srv, shy = world.srv, world.users["shy"]
    word = world.words["shy", "public"]
    assert world.search("stranger_shy", word) == []
    assert set_indexable(srv, shy, True)["source"]["indexable"] is True
    srv.drain()
    assert world.search("stranger_shy", word) == [world.ids["shy", "public"]]
    # Only public statuses become findable; the others keep their rules.
    assert world.search("stranger_shy", world.words["shy", "unlisted"]) == []
    later = srv.post(shy, "posted while indexable zqshylater")["id"]
    srv.drain()
    assert world.search("stranger_shy", "zqshylater") == [later]
    set_indexable(srv, shy, False)
    srv.drain()
    assert world.search("stranger_shy", word) == []
    assert world.search("stranger_shy", "zqshylater") == []
    assert world.search("shy", "zqshylater") == [later]  # the author still finds it


def test_unfavouriting_and_unfollowing_take_it_away(world: World) -> None:
    srv = world.srv
    erin, shy = srv.quick_user("erin"), world.users["shy"]
    srv.follow(erin, shy)
    status = srv.post(shy, "followers only zqerinword", visibility="private")["id"]
    srv.drain()
    assert world.search("shy", "zqerinword") == [status]
    world.users["erin"] = erin
    assert world.search("erin", "zqerinword") == []  # following alone is not enough
    assert srv.client.post(f"/api/v1/statuses/{status}/favourite", headers=erin.headers).status_code == 200
    assert world.search("erin", "zqerinword") == [status]
    assert srv.client.post(f"/api/v1/statuses/{status}/unfavourite", headers=erin.headers).status_code == 200
    assert world.search("erin", "zqerinword") == []
    assert srv.client.post(f"/api/v1/statuses/{status}/favourite", headers=erin.headers).status_code == 200
    assert srv.client.post(f"/api/v1/accounts/{shy.id}/unfollow", headers=erin.headers).status_code == 200
    srv.drain()
    assert world.search("erin", "zqerinword") == []  # favourited, but no longer visible to erin


def test_hidden_matches_do_not_starve_a_page(world: World) -> None:
    """Many newer matches the viewer may not find must not push older findable ones off the page."""
    srv = world.srv
    fan, shy = srv.quick_user("fan"), world.users["shy"]
    first = srv.post(shy, "zqflood first")["id"]
    assert srv.client.post(f"/api/v1/statuses/{first}/favourite", headers=fan.headers).status_code == 200
    for i in range(60):
        srv.post(shy, f"zqflood filler {i}")
    srv.drain()
    world.users["fan"] = fan
    assert world.search("fan", "zqflood", limit=5) == [first]
    assert len(world.search("shy", "zqflood", limit=40)) == 40


def test_paging_through_favourites(world: World) -> None:
    srv = world.srv
    reader, shy = srv.quick_user("reader"), world.users["shy"]
    ids = [srv.post(shy, f"zqpaged number {i}")["id"] for i in range(7)]
    for status_id in ids:
        assert srv.client.post(f"/api/v1/statuses/{status_id}/favourite", headers=reader.headers).status_code == 200
    srv.drain()
    world.users["reader"] = reader
    newest = sorted(ids, key=int, reverse=True)
    assert world.search("reader", "zqpaged", limit=3) == newest[:3]
    assert world.search("reader", "zqpaged", limit=3, type="statuses", offset=3) == newest[3:6]
    assert world.search("reader", "zqpaged", limit=3, max_id=newest[2]) == newest[3:6]
    assert world.search("reader", "zqpaged", limit=40, min_id=newest[2]) == newest[:2]


@pytest.mark.parametrize("token", ["none", "app"])
def test_without_a_user(world: World, token: str) -> None:
    headers = {} if token == "none" else {"Authorization": f"Bearer {world.srv.app_token()}"}
    c = world.srv.client
    r = c.get("/api/v2/search", headers=headers, params={"q": world.words["open", "public"]})
    assert r.status_code == 200 and r.json()["statuses"] == []
    assert r.json()["accounts"] == [] or all("id" in a for a in r.json()["accounts"])
    for params, message in (
        ({"offset": "1", "type": "statuses"}, "Search queries pagination is not supported without authentication"),
        ({"offset": "0"}, "Search queries pagination is not supported without authentication"),
        ({"resolve": "true"}, "Search queries that resolve remote resources are not supported without authentication"),
    ):
        assert_error(c.get("/api/v2/search", headers=headers, params={"q": "x", **params}), 401, message)


def test_an_index_from_before_the_upgrade_is_rebuilt(tmp_path: Path) -> None:
    """A data directory whose index has the old layout (text only, schema version 1) is
    indexed again at start: nothing is lost, and the new rules apply to old statuses."""
    with running_server(tmp_path) as srv:
        author, mentioned, stranger = srv.quick_user("old"), srv.quick_user("named"), srv.quick_user("nobody")
        public = srv.post(author, "from before zqupgrade")["id"]
        private = srv.post(author, "@named private zqupgrade", visibility="private")["id"]
        srv.drain()
    shards = sorted(tmp_path.glob("**/shard-*.sqlite3"))
    assert shards
    for path in shards:  # back to the layout of version 1
        db = sqlite3.connect(path)
        rows = db.execute("SELECT rowid, body FROM statuses_fts").fetchall()
        db.executescript(
            "DROP TABLE statuses_fts; DROP TABLE search_backfill;"
            " CREATE VIRTUAL TABLE statuses_fts USING fts5(body, tokenize = 'unicode61');"
            " DELETE FROM schema_migrations WHERE component = 'search' AND version = 2;"
        )
        db.executemany("INSERT INTO statuses_fts (rowid, body) VALUES (?, ?)", rows)
        db.commit()
        db.close()
    with running_server(tmp_path) as srv:
        def search(user: User) -> list[str]:
            r = srv.client.get("/api/v2/search", headers=user.headers, params={"q": "zqupgrade"})
            assert r.status_code == 200, r.text
            return [s["id"] for s in r.json()["statuses"]]

        assert search(author) == [private, public]
        assert search(mentioned) == [private]
        assert search(stranger) == []
        assert set_indexable(srv, author, True)["indexable"] is True
        srv.drain()
        assert search(stranger) == [public]


def test_favourites_looked_through_are_bounded(tmp_path: Path) -> None:
    """search_interactions_scanned caps how many of the viewer's favourites (and reblogs)
    one search looks through, newest first: older ones are not found, the rest still are."""
    with running_server(tmp_path, search_interactions_scanned=3) as srv:
        author, reader = srv.quick_user("writer"), srv.quick_user("reader")
        ids = [srv.post(author, f"zqcapped {i}")["id"] for i in range(5)]
        for status_id in ids:
            r = srv.client.post(f"/api/v1/statuses/{status_id}/favourite", headers=reader.headers)
            assert r.status_code == 200, r.text
        srv.drain()
        r = srv.client.get("/api/v2/search", headers=reader.headers, params={"q": "zqcapped"})
        assert [s["id"] for s in r.json()["statuses"]] == sorted(ids, key=int, reverse=True)[:3]
        r = srv.client.get("/api/v2/search", headers=author.headers, params={"q": "zqcapped"})
        assert len(r.json()["statuses"]) == 5  # the author's own come from the index, uncapped
