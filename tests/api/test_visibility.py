"""Private and direct statuses never reach non-recipients, on any read path:
GET status, context, home/public/account timelines, search, notifications, favourited_by,
reblogged_by, favourites, and the interactions (favourite, reblog, reply) -> 404."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .harness import Audience, assert_error, running_server, wait_until
from .shapes import Shape

VIEWERS = ["alice", "bob", "carol", "dave", "anon"]
# alice writes; bob follows her and is mentioned in the direct ones; carol follows her; dave does not.
VISIBLE_TO = {
    "pub": {"alice", "bob", "carol", "dave", "anon"},
    "unl": {"alice", "bob", "carol", "dave", "anon"},
    "priv": {"alice", "bob", "carol"},
    "dir": {"alice", "bob"},
    "priv_reply": {"alice", "bob", "carol"},
    "dir_reply": {"alice", "bob"},
    "bob_reply": {"alice", "bob", "carol", "dave", "anon"},  # public reply to "priv"
}
HIDDEN = ["priv", "dir", "priv_reply", "dir_reply"]


class World(Audience):

    def name_of(self, status_id: str) -> str:
        return next(k for k, v in self.ids.items() if v == status_id)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shape: Shape) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("visibility"), shape=shape) as srv:
        users = {n: srv.quick_user(n) for n in ("alice", "bob", "carol", "dave")}
        w = World(srv, users)
        srv.follow(users["bob"], users["alice"])
        srv.follow(users["carol"], users["alice"])
        a = users["alice"]
        for name in VISIBLE_TO:
            w.words[name] = f"zq{name.replace('_', '')}word"
        w.ids["pub"] = srv.post(a, f"public {w.words['pub']}")["id"]
        w.ids["unl"] = srv.post(a, f"unlisted {w.words['unl']}", visibility="unlisted")["id"]
        w.ids["priv"] = srv.post(a, f"followers only {w.words['priv']}", visibility="private")["id"]
        w.ids["dir"] = srv.post(a, f"@bob direct {w.words['dir']}", visibility="direct")["id"]
        w.ids["priv_reply"] = srv.post(a, f"private reply {w.words['priv_reply']}", visibility="private",
                                       in_reply_to_id=w.ids["pub"])["id"]
        w.ids["dir_reply"] = srv.post(a, f"@bob direct reply {w.words['dir_reply']}", visibility="direct",
                                      in_reply_to_id=w.ids["pub"])["id"]
        w.ids["bob_reply"] = srv.post(users["bob"], f"public reply {w.words['bob_reply']}",
                                      in_reply_to_id=w.ids["priv"])["id"]
        bob = users["bob"]
        for name in ("priv", "dir"):
            r = srv.client.post(f"/api/v1/statuses/{w.ids[name]}/favourite", headers=bob.headers)
            assert r.status_code == 200, r.text
        srv.drain()
        yield w


def visible(name: str, who: str) -> bool:
    return who in VISIBLE_TO[name]


CELLS = [(n, v) for n in VISIBLE_TO for v in VIEWERS]


@pytest.mark.parametrize(("name", "who"), CELLS)
def test_get_status(world: World, name: str, who: str) -> None:
    r = world.get(f"/api/v1/statuses/{world.ids[name]}", who)
    if visible(name, who):
        assert r.status_code == 200 and r.json()["id"] == world.ids[name]
    else:
        assert_error(r, 404, "Record not found")


@pytest.mark.parametrize(("name", "who"), CELLS)
def test_context(world: World, name: str, who: str) -> None:
    r = world.get(f"/api/v1/statuses/{world.ids[name]}/context", who)
    if not visible(name, who):
        assert_error(r, 404, "Record not found")
        return
    assert r.status_code == 200
    body = r.json()
    for item in body["ancestors"] + body["descendants"]:
        assert visible(world.name_of(item["id"]), who), (name, who, world.name_of(item["id"]))


@pytest.mark.parametrize("who", VIEWERS)
def test_context_of_the_thread_root_shows_only_visible_replies(world: World, who: str) -> None:
    body = world.get(f"/api/v1/statuses/{world.ids['pub']}/context", who).json()
    names = {world.name_of(s["id"]) for s in body["descendants"]}
    assert names == {n for n in ("priv_reply", "dir_reply") if visible(n, who)}


@pytest.mark.parametrize("who", VIEWERS)
def test_context_of_a_public_reply_hides_its_private_parent(world: World, who: str) -> None:
    body = world.get(f"/api/v1/statuses/{world.ids['bob_reply']}/context", who).json()
    names = [world.name_of(s["id"]) for s in body["ancestors"]]
    assert names == (["priv"] if visible("priv", who) else [])


HOME = {
    "alice": {"pub", "unl", "priv", "dir", "priv_reply", "dir_reply"},  # her own; she follows nobody
    "bob": set(VISIBLE_TO),  # follows alice, is mentioned in the direct ones, wrote bob_reply
    "carol": {"pub", "unl", "priv", "priv_reply"},  # follows alice, not mentioned
    "dave": set(),  # follows nobody
}


@pytest.mark.parametrize("who", sorted(HOME))
def test_home_timeline(world: World, who: str) -> None:
    names = {world.name_of(s["id"]) for s in world.get("/api/v1/timelines/home", who, limit=40).json()
             if s["id"] in world.ids.values()}
    assert names == HOME[who]


@pytest.mark.parametrize("who", VIEWERS)
def test_public_timeline_lists_public_statuses_only(world: World, who: str) -> None:
    names = {world.name_of(s["id"]) for s in world.get("/api/v1/timelines/public", who, limit=40).json()}
    assert names == {"pub", "bob_reply"}


@pytest.mark.parametrize("who", VIEWERS)
def test_account_timeline(world: World, who: str) -> None:
    path = f"/api/v1/accounts/{world.users['alice'].id}/statuses"
    names = {world.name_of(s["id"]) for s in world.get(path, who, limit=40).json()}
    assert names == {n for n in VISIBLE_TO if n != "bob_reply" and visible(n, who)}
    # Paging with min_id must not leak either.
    names = {world.name_of(s["id"]) for s in world.get(path, who, min_id="1", limit=40).json()}
    assert names == {n for n in VISIBLE_TO if n != "bob_reply" and visible(n, who)}


@pytest.fixture(scope="module")
def indexed(world: World) -> None:
    """The index is fed from the log: wait until each author finds each status."""
    for name, word in world.words.items():
        author = "bob" if name == "bob_reply" else "alice"
        wait_until(lambda w=word, a=author: world.get("/api/v2/search", a, q=w, type="statuses").json()["statuses"],
                   what=f"{name} to be indexed")


# Full-text search finds less than the viewer may see (Mastodon 4.2+): alice has not opted in
# to search (indexable), so only authors, mentioned accounts and those who favourited or
# reblogged a status find it, and only while they may see it. bob favourited "priv" and
# "dir" and is mentioned in the direct ones. tests/api/test_search_visibility.py has the
# full matrix.
SEARCHABLE_BY = {
    "pub": {"alice"},
    "unl": {"alice"},
    "priv": {"alice", "bob"},
    "dir": {"alice", "bob"},
    "priv_reply": {"alice"},
    "dir_reply": {"alice", "bob"},
    "bob_reply": {"bob"},
}


@pytest.mark.parametrize(("name", "who"), CELLS)
def test_search(world: World, indexed: None, name: str, who: str) -> None:
    found = [s["id"] for s in world.get("/api/v2/search", who, q=world.words[name]).json()["statuses"]]
    assert found == ([world.ids[name]] if who in SEARCHABLE_BY[name] else [])
    assert SEARCHABLE_BY[name] <= VISIBLE_TO[name]


@pytest.mark.parametrize("who", VIEWERS)
def test_search_matching_many(world: World, indexed: None, who: str) -> None:
    statuses = world.get("/api/v2/search", who, q="reply", limit=40).json()["statuses"]
    found = {world.name_of(s["id"]) for s in statuses}
    assert found == {n for n in ("priv_reply", "dir_reply", "bob_reply") if who in SEARCHABLE_BY[n]}


@pytest.mark.parametrize("who", ["carol", "dave"])
def test_notifications_of_non_recipients(world: World, who: str) -> None:
    notes = world.get("/api/v1/notifications", who).json()
    assert [n for n in notes if n.get("status") and n["status"]["id"] in world.ids.values()] == []
    bob_notes = world.get("/api/v1/notifications", "bob").json()
    mention_ids = {n["status"]["id"] for n in bob_notes if n["type"] == "mention"}
    assert mention_ids == {world.ids["dir"], world.ids["dir_reply"]}
    for n in bob_notes:
        assert_error(world.get(f"/api/v1/notifications/{n['id']}", who), 404, "Record not found")


@pytest.mark.parametrize("path", ["favourited_by", "reblogged_by"])
@pytest.mark.parametrize(("name", "who"), CELLS)
def test_favourited_by_and_reblogged_by(world: World, path: str, name: str, who: str) -> None:
    r = world.get(f"/api/v1/statuses/{world.ids[name]}/{path}", who)
    if visible(name, who):
        assert r.status_code == 200
    else:
        assert_error(r, 404, "Record not found")


INVISIBLE = [(n, w) for n in HIDDEN for w in ("carol", "dave") if not visible(n, w)]


@pytest.mark.parametrize("action", ["favourite", "unfavourite", "reblog", "unreblog"])
@pytest.mark.parametrize(("name", "who"), INVISIBLE)
def test_interactions_with_invisible_statuses(world: World, action: str, name: str, who: str) -> None:
    before = world.srv.fingerprint()
    r = world.srv.client.post(f"/api/v1/statuses/{world.ids[name]}/{action}", headers=world.headers(who))
    assert_error(r, 404, "Record not found")
    assert world.srv.fingerprint() == before
    owner_view = world.get(f"/api/v1/statuses/{world.ids[name]}", "alice").json()
    assert owner_view["reblogs_count"] == 0


@pytest.mark.parametrize(("name", "who"), INVISIBLE)
def test_replying_to_an_invisible_status(world: World, name: str, who: str) -> None:
    before = world.srv.fingerprint()
    r = world.srv.client.post("/api/v1/statuses", headers=world.headers(who),
                              json={"status": "sneaky", "in_reply_to_id": world.ids[name]})
    assert_error(r, 404, "Record not found")
    assert world.srv.fingerprint() == before


def test_losing_the_follow_hides_private_statuses_everywhere(world: World) -> None:
    srv = world.srv
    erin, alice = srv.quick_user("erin"), world.users["alice"]
    srv.follow(erin, alice)
    secret = srv.post(alice, "for followers: zqlaterword", visibility="private")["id"]
    assert srv.client.post(f"/api/v1/statuses/{secret}/favourite", headers=erin.headers).status_code == 200
    srv.drain()

    def everywhere() -> dict[str, bool]:
        h = erin.headers
        c = srv.client
        return {
            "get": c.get(f"/api/v1/statuses/{secret}", headers=h).status_code == 200,
            "home": secret in [s["id"] for s in c.get("/api/v1/timelines/home", headers=h).json()],
            "account": secret in [s["id"] for s in c.get(f"/api/v1/accounts/{alice.id}/statuses", headers=h).json()],
            "favourites": secret in [s["id"] for s in c.get("/api/v1/favourites", headers=h).json()],
            "search": secret in [s["id"] for s in c.get("/api/v2/search", headers=h, params={"q": "zqlaterword"}).json()["statuses"]],
            "favourited_by": c.get(f"/api/v1/statuses/{secret}/favourited_by", headers=h).status_code == 200,
        }

    wait_until(lambda: all(everywhere().values()), what="the follower to see the private status")
    assert srv.client.post(f"/api/v1/accounts/{alice.id}/unfollow", headers=erin.headers).status_code == 200
    srv.drain()
    assert everywhere() == dict.fromkeys(everywhere(), False)


def test_direct_status_stays_out_of_followers_home_timelines(world: World) -> None:
    carol_home = [s["id"] for s in world.get("/api/v1/timelines/home", "carol", limit=40).json()]
    assert world.ids["dir"] not in carol_home and world.ids["dir_reply"] not in carol_home
    bob_home = [s["id"] for s in world.get("/api/v1/timelines/home", "bob", limit=40).json()]
    assert world.ids["dir"] in bob_home
