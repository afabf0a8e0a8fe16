"""Locked accounts: a follow is a pending request until the account approves it, and
nothing of a locked account's followers-only statuses reaches anyone it has not
approved, on any read path (fanout included).

alice locks her account. bob asks and is approved, carol asks and is still waiting,
dave asks and is rejected, erin asks and withdraws (unfollow), and anon reads without
a token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from .harness import Audience, User, assert_error, links, running_server, wait_until
from .shapes import Shape

VIEWERS = ["alice", "bob", "carol", "dave", "erin", "anon"]
APPROVED = {"alice", "bob"}
VISIBLE_TO = {
    "pub": set(VIEWERS),
    "priv_before": APPROVED,  # posted before anyone asked
    "priv_after": APPROVED,  # posted after the answers: fanout must skip the unapproved
}
PRIVATE = ["priv_before", "priv_after"]


@dataclass
class World(Audience):
    answers: dict[str, Any] = field(default_factory=dict)

    @property
    def alice(self) -> User:
        return self.users["alice"]

    def relationship(self, who: str, other: str) -> dict[str, Any]:
        r = self.get("/api/v1/accounts/relationships", who, **{"id[]": self.users[other].id})
        assert r.status_code == 200, r.text
        (rel,) = r.json()
        return rel  # type: ignore[no-any-return]


def home_ids(w: World, who: str) -> set[str]:
    r = w.get("/api/v1/timelines/home", who, limit=40)
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()}


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, shape: Shape) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("locked"), shape=shape) as srv:
        users = {n: srv.quick_user(n) for n in VIEWERS if n != "anon"}
        w = World(srv, users)
        for name in VISIBLE_TO:
            w.words[name] = f"zq{name.replace('_', '')}lockword"
        r = srv.client.patch("/api/v1/accounts/update_credentials", headers=w.alice.headers,
                             data={"locked": "true", "indexable": "true"})
        assert r.status_code == 200, r.text
        w.answers["lock"] = r.json()
        w.ids["pub"] = srv.post(w.alice, f"public {w.words['pub']}")["id"]
        w.ids["priv_before"] = srv.post(w.alice, f"followers only {w.words['priv_before']}",
                                        visibility="private")["id"]
        for who in ("bob", "carol", "dave", "erin"):
            home_ids(w, who)  # build every home timeline, so fanout reaches it if it ever would
            r = w.post(f"/api/v1/accounts/{w.alice.id}/follow", who)
            assert r.status_code == 200, r.text
            w.answers[f"follow:{who}"] = r.json()
        w.answers["follow again:carol"] = w.post(f"/api/v1/accounts/{w.alice.id}/follow", "carol").json()
        srv.drain()
        w.answers["requests before answers"] = w.get("/api/v1/follow_requests", "alice").json()
        w.answers["credentials before answers"] = w.get("/api/v1/accounts/verify_credentials", "alice").json()
        w.answers["relationship alice->bob before"] = w.relationship("alice", "bob")
        w.answers["notifications before answers"] = w.get("/api/v1/notifications", "alice", limit=40).json()
        w.answers["authorize"] = w.post(f"/api/v1/follow_requests/{users['bob'].id}/authorize", "alice")
        w.answers["reject"] = w.post(f"/api/v1/follow_requests/{users['dave'].id}/reject", "alice")
        w.answers["withdraw"] = w.post(f"/api/v1/accounts/{w.alice.id}/unfollow", "erin")
        w.ids["priv_after"] = srv.post(w.alice, f"followers only {w.words['priv_after']}",
                                       visibility="private")["id"]
        srv.drain()
        yield w


def visible(name: str, who: str) -> bool:
    return who in VISIBLE_TO[name]


CELLS = [(n, v) for n in VISIBLE_TO for v in VIEWERS]

# -- the request and its answers ------------------------------------------------------------


def test_locked_is_set_and_shown(world: World) -> None:
    assert world.answers["lock"]["locked"] is True
    assert world.get(f"/api/v1/accounts/{world.alice.id}", "anon").json()["locked"] is True


@pytest.mark.parametrize("who", ["bob", "carol", "dave", "erin"])
def test_following_a_locked_account_only_asks(world: World, who: str) -> None:
    rel = world.answers[f"follow:{who}"]
    assert (rel["following"], rel["requested"]) == (False, True)


def test_asking_again_while_pending_is_idempotent(world: World) -> None:
    rel = world.answers["follow again:carol"]
    assert (rel["following"], rel["requested"]) == (False, True)
    ids = [a["id"] for a in world.answers["requests before answers"]]
    assert ids.count(world.users["carol"].id) == 1


def test_pending_requests_are_listed_newest_first(world: World) -> None:
    ids = [a["id"] for a in world.answers["requests before answers"]]
    assert ids == [world.users[n].id for n in ("erin", "dave", "carol", "bob")]
    assert world.answers["credentials before answers"]["source"]["follow_requests_count"] == 4
    rel = world.answers["relationship alice->bob before"]
    assert (rel["requested_by"], rel["followed_by"]) == (True, False)


def follow_request_notifications(notes: list[dict[str, Any]]) -> list[str]:
    return sorted(n["account"]["username"] for n in notes if n["type"] == "follow_request")


def test_the_locked_account_is_notified_of_each_request_once(world: World) -> None:
    assert follow_request_notifications(world.answers["notifications before answers"]) == [
        "bob", "carol", "dave", "erin"]


def test_answered_and_withdrawn_requests_take_their_notification_along(world: World) -> None:
    notes = world.get("/api/v1/notifications", "alice", limit=40).json()
    assert follow_request_notifications(notes) == ["carol"]


def test_authorize_grants_the_follow(world: World) -> None:
    r = world.answers["authorize"]
    assert r.status_code == 200, r.text
    rel = r.json()
    assert rel["id"] == world.users["bob"].id
    assert (rel["followed_by"], rel["requested_by"]) == (True, False)
    bob_side = world.relationship("bob", "alice")
    assert (bob_side["following"], bob_side["requested"]) == (True, False)
    # Mastodon's authorize also tells the locked account it has a new follower.
    notes = world.get("/api/v1/notifications", "alice", limit=40).json()
    assert [n["account"]["username"] for n in notes if n["type"] == "follow"] == ["bob"]


def test_reject_and_withdraw_remove_the_request(world: World) -> None:
    r = world.answers["reject"]
    assert r.status_code == 200, r.text
    assert (r.json()["followed_by"], r.json()["requested_by"]) == (False, False)
    withdrawn = world.answers["withdraw"]
    assert withdrawn.status_code == 200
    assert (withdrawn.json()["following"], withdrawn.json()["requested"]) == (False, False)
    for who in ("dave", "erin"):
        rel = world.relationship(who, "alice")
        assert (rel["following"], rel["requested"]) == (False, False), who
    assert [a["id"] for a in world.get("/api/v1/follow_requests", "alice").json()] == [world.users["carol"].id]
    carol_side = world.relationship("carol", "alice")
    assert (carol_side["following"], carol_side["requested"]) == (False, True)
    creds = world.get("/api/v1/accounts/verify_credentials", "alice").json()
    assert creds["source"]["follow_requests_count"] == 1


def test_a_pending_requester_is_no_follower(world: World) -> None:
    alice = world.get(f"/api/v1/accounts/{world.alice.id}", "anon").json()
    assert alice["followers_count"] == 1
    for who in ("carol", "dave", "erin"):
        assert world.get(f"/api/v1/accounts/{world.users[who].id}", "anon").json()["following_count"] == 0
    assert world.get(f"/api/v1/accounts/{world.users['bob'].id}", "anon").json()["following_count"] == 1
    followers = world.get(f"/api/v1/accounts/{world.alice.id}/followers", "anon").json()
    assert [a["id"] for a in followers] == [world.users["bob"].id]
    following = world.get(f"/api/v1/accounts/{world.users['carol'].id}/following", "anon").json()
    assert following == []


# -- the access matrix: followers-only statuses on every read path ----------------------------


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
    if visible(name, who):
        assert r.status_code == 200
    else:
        assert_error(r, 404, "Record not found")


@pytest.mark.parametrize("path", ["favourited_by", "reblogged_by"])
@pytest.mark.parametrize(("name", "who"), CELLS)
def test_favourited_by_and_reblogged_by(world: World, path: str, name: str, who: str) -> None:
    r = world.get(f"/api/v1/statuses/{world.ids[name]}/{path}", who)
    if visible(name, who):
        assert r.status_code == 200
    else:
        assert_error(r, 404, "Record not found")


@pytest.mark.parametrize("who", [v for v in VIEWERS if v != "anon"])
def test_home_timeline(world: World, who: str) -> None:
    """The approved follower gets the statuses from before (merged at approval) and after
    (fanout); the others' home timelines were built before they asked, so a fanout to a
    pending requester would show here."""
    mine = {world.ids[n] for n in VISIBLE_TO}
    expected = {world.ids[n] for n in VISIBLE_TO if visible(n, who)} if who in APPROVED else set()
    wait_until(lambda: home_ids(world, who) & mine == expected, what=f"{who}'s home timeline")
    assert home_ids(world, who) & mine == expected


@pytest.mark.parametrize("who", VIEWERS)
def test_account_timeline(world: World, who: str) -> None:
    path = f"/api/v1/accounts/{world.alice.id}/statuses"
    for params in ({"limit": 40}, {"limit": 40, "min_id": "1"}):
        names = {n for n, i in world.ids.items() if i in {s["id"] for s in world.get(path, who, **params).json()}}
        assert names == {n for n in VISIBLE_TO if visible(n, who)}


@pytest.mark.parametrize("who", VIEWERS)
def test_public_timeline(world: World, who: str) -> None:
    found = {s["id"] for s in world.get("/api/v1/timelines/public", who, limit=40).json()}
    assert found & {world.ids[n] for n in VISIBLE_TO} == {world.ids["pub"]}


@pytest.fixture(scope="module")
def indexed(world: World) -> None:
    for name, word in world.words.items():
        wait_until(lambda w=word: world.get("/api/v2/search", "alice", q=w, type="statuses").json()["statuses"],
                   what=f"{name} to be indexed")


@pytest.mark.parametrize(("name", "who"), CELLS)
def test_search(world: World, indexed: None, name: str, who: str) -> None:
    # Search's own rule (Mastodon 4.2) narrows further: others find only public statuses
    # of an indexable author; the author finds all of hers. Never more than is visible.
    searchable = who == "alice" or (name == "pub" and who != "anon")
    found = [s["id"] for s in world.get("/api/v2/search", who, q=world.words[name]).json()["statuses"]]
    assert found == ([world.ids[name]] if visible(name, who) and searchable else [])


@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
def test_notifications_carry_nothing_private(world: World, who: str) -> None:
    notes = world.get("/api/v1/notifications", who, limit=40).json()
    assert [n for n in notes if n.get("status") and n["status"]["id"] in world.ids.values()] == []


@pytest.mark.parametrize("action", ["favourite", "reblog"])
@pytest.mark.parametrize("who", ["carol", "dave", "erin"])
def test_interactions_with_private_statuses_are_refused(world: World, action: str, who: str) -> None:
    r = world.post(f"/api/v1/statuses/{world.ids['priv_after']}/{action}", who)
    assert r.status_code == 404, r.text


# -- who may list and answer requests ---------------------------------------------------------


def test_only_the_requested_account_can_answer(world: World) -> None:
    carol = world.users["carol"]
    for who in ("bob", "carol", "dave"):
        assert world.get("/api/v1/follow_requests", who).json() == []
        for action in ("authorize", "reject"):
            r = world.post(f"/api/v1/follow_requests/{carol.id}/{action}", who)
            assert_error(r, 404, "Record not found")
    rel = world.relationship("carol", "alice")
    assert (rel["following"], rel["requested"]) == (False, True)


def test_app_token_cannot_list_or_answer(world: World) -> None:
    headers = {"Authorization": f"Bearer {world.srv.app_token()}"}
    carol = world.users["carol"]
    assert_error(world.srv.client.get("/api/v1/follow_requests", headers=headers), 422)
    for action in ("authorize", "reject"):
        r = world.srv.client.post(f"/api/v1/follow_requests/{carol.id}/{action}", headers=headers)
        assert_error(r, 422)


def test_scopes(world: World) -> None:
    srv, alice = world.srv, world.alice
    for scope in ("read:follows", "follow", "read"):
        token = srv.token_for(alice.id, scope)
        r = srv.client.get("/api/v1/follow_requests", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, (scope, r.text)
    writer = {"Authorization": f"Bearer {srv.token_for(alice.id, 'write:accounts read')}"}
    r = srv.client.post(f"/api/v1/follow_requests/{world.users['carol'].id}/reject", headers=writer)
    assert_error(r, 403)
    assert world.relationship("carol", "alice")["requested"] is True


def test_answering_twice_is_a_404(world: World) -> None:
    for action in ("authorize", "reject"):
        assert_error(world.post(f"/api/v1/follow_requests/{world.users['dave'].id}/{action}", "alice"), 404)
    # bob's request became a follow: nothing is pending any more.
    assert_error(world.post(f"/api/v1/follow_requests/{world.users['bob'].id}/reject", "alice"), 404)
    assert world.relationship("bob", "alice")["following"] is True


# -- later changes (these mutate the world: keep them last) ------------------------------------


def test_paging_the_requests(tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_server(tmp_path_factory.mktemp("locked-pages")) as srv:
        owner = srv.quick_user("lockowner")
        r = srv.client.patch("/api/v1/accounts/update_credentials", headers=owner.headers, json={"locked": True})
        assert r.json()["locked"] is True
        askers = [srv.quick_user(f"asker{i}") for i in range(5)]
        for a in askers:
            srv.follow(a, owner)
        seen: list[str] = []
        url: str | None = "/api/v1/follow_requests?limit=2"
        while url:
            r = srv.client.get(url, headers=owner.headers)
            assert r.status_code == 200, r.text
            page = [a["id"] for a in r.json()]
            assert len(page) <= 2
            seen += page
            nxt = links(r).get("next")
            url = nxt.replace("http://testserver", "") if nxt and page else None
        assert seen == [a.id for a in reversed(askers)]
        first = srv.client.get("/api/v1/follow_requests?limit=2", headers=owner.headers)
        assert "prev" in links(first) and "since_id=" in links(first)["prev"]


def test_unlocking_approves_everyone_waiting(world: World) -> None:
    carol = world.users["carol"]
    r = world.srv.client.patch("/api/v1/accounts/update_credentials", headers=world.alice.headers,
                               data={"locked": "false"})
    assert r.status_code == 200, r.text
    assert r.json()["locked"] is False
    assert r.json()["source"]["follow_requests_count"] == 0
    rel = world.relationship("carol", "alice")
    assert (rel["following"], rel["requested"]) == (True, False)
    world.srv.drain()
    assert world.get(f"/api/v1/statuses/{world.ids['priv_after']}", "carol").status_code == 200
    wait_until(lambda: world.ids["priv_before"] in home_ids(world, "carol"), what="the merge into carol's home")
    # Now unlocked: a follow is granted at once.
    rel = world.post(f"/api/v1/accounts/{world.alice.id}/follow", "dave").json()
    assert (rel["following"], rel["requested"]) == (True, False)
    assert world.get(f"/api/v1/accounts/{world.alice.id}", "anon").json()["followers_count"] == 3
    assert carol.id in {a["id"] for a in world.get(f"/api/v1/accounts/{world.alice.id}/followers", "anon").json()}


def test_locking_keeps_existing_followers_and_a_new_ask_after_reject_waits_again(world: World) -> None:
    r = world.srv.client.patch("/api/v1/accounts/update_credentials", headers=world.alice.headers,
                               json={"locked": True})
    assert r.json()["locked"] is True
    assert world.relationship("bob", "alice")["following"] is True
    rel = world.post(f"/api/v1/accounts/{world.alice.id}/follow", "erin").json()
    assert (rel["following"], rel["requested"]) == (False, True)
    world.srv.drain()
    notes = world.get("/api/v1/notifications", "alice", limit=40).json()
    assert follow_request_notifications(notes) == ["erin"]  # carol's went with the unlock
    # A followed account that locks later does not demote an existing follow to a request.
    rel = world.post(f"/api/v1/accounts/{world.alice.id}/follow", "bob", reblogs="false").json()
    assert (rel["following"], rel["requested"], rel["showing_reblogs"]) == (True, False, False)
