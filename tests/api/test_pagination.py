"""Mastodon pagination over HTTP: newest first, no duplicates, no gaps when walking Link rel="next",
min_id pages forward to the adjacent page, since_id returns the newest page (gap), limits clamp,
and Link headers are absolute, ``next`` first, carried parameters kept, omitted when empty."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from .harness import BASE_URL, Server, User, links, running_server

TOTAL_BY_ALICE = 45  # > 40, so limit clamping shows
MENTIONS_BY_CAROL = 40  # bob gets 45 + 40 = 85 mention notifications (> 80)
FANS = 9


@dataclass
class World:
    srv: Server
    alice: User
    bob: User
    carol: User
    fans: list[User]
    alice_ids: list[str] = field(default_factory=list)  # newest first
    all_public_ids: list[str] = field(default_factory=list)  # newest first
    popular: str = ""  # a status everybody favourited


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_server(tmp_path_factory.mktemp("paging")) as srv:
        alice, bob, carol = srv.quick_user("alice"), srv.quick_user("bob"), srv.quick_user("carol")
        fans = [srv.quick_user(f"fan{i}") for i in range(FANS)]
        srv.follow(bob, alice)
        for fan in fans:
            srv.follow(fan, alice)
            srv.follow(bob, fan)
        w = World(srv, alice, bob, carol, fans)
        alice_ids, everything = [], []
        for i in range(TOTAL_BY_ALICE):
            alice_ids.append(srv.post(alice, f"alice {i} @bob")["id"])
            everything.append(alice_ids[-1])
            if i < MENTIONS_BY_CAROL:
                everything.append(srv.post(carol, f"carol {i} @bob")["id"])
        w.alice_ids = list(reversed(alice_ids))
        w.all_public_ids = list(reversed(everything))
        assert_newest_first_no_dups(w.all_public_ids)
        w.popular = w.alice_ids[-1]
        for user in [bob, *fans]:
            r = srv.client.post(f"/api/v1/statuses/{w.popular}/favourite", headers=user.headers)
            assert r.status_code == 200
        for sid in w.alice_ids[:25]:
            assert srv.client.post(f"/api/v1/statuses/{sid}/favourite", headers=bob.headers).status_code == 200
        srv.drain()
        yield w


def walk(srv: Server, path: str, user: User | None, **params: Any) -> list[list[dict[str, Any]]]:
    """Every page, following rel="next" from the first request until it runs out."""
    headers = user.headers if user else {}
    r = srv.client.get(path, headers=headers, params=params)
    pages = []
    for _ in range(200):
        assert r.status_code == 200, r.text
        items = r.json()
        if not items:
            assert "link" not in r.headers, "Link header on an empty page"
            break
        pages.append(items)
        check_link_header(r, path)
        nxt = links(r).get("next")
        if nxt is None:
            break
        r = srv.client.get(nxt, headers=headers)
    return pages


def check_link_header(response: Any, path: str) -> None:
    header = response.headers["link"]
    # toot: re.match('<([^>]+)>; rel="next"') -> next must come first (when present).
    rels = re.findall(r'rel="(\w+)"', header)
    assert rels in (["next", "prev"], ["prev"]), header
    for url in links(response).values():
        assert url.startswith(f"{BASE_URL}{path}?"), url
        query = parse_qs(urlsplit(url).query)
        cursors = [k for k in ("max_id", "min_id", "since_id") if k in query]
        assert len(cursors) == 1 and len(query[cursors[0]]) == 1, url
        assert re.fullmatch(r"\d+", query[cursors[0]][0]), url
    if "next" in rels:
        assert re.match(r'<([^>]+)>; rel="next"', header)


def ids_of(items: list[dict[str, Any]]) -> list[str]:
    return [i["id"] for i in items]


def assert_newest_first_no_dups(ids: list[str]) -> None:
    assert len(ids) == len(set(ids)), "duplicates across pages"
    assert ids == sorted(ids, key=int, reverse=True), "not newest first"


# -- statuses ------------------------------------------------------------------------------------

STATUS_LISTS = {
    "home": ("/api/v1/timelines/home", "bob", "alice_ids"),
    "public": ("/api/v1/timelines/public", None, "all_public_ids"),
    "account": ("/api/v1/accounts/{alice}/statuses", None, "alice_ids"),
}


def status_list(world: World, name: str) -> tuple[str, User | None, list[str]]:
    path, who, expected = STATUS_LISTS[name]
    user = getattr(world, who) if who else None
    return path.format(alice=world.alice.id), user, getattr(world, expected)


@pytest.mark.parametrize("name", sorted(STATUS_LISTS))
@pytest.mark.parametrize("limit", [1, 7, 40])
def test_walking_next_visits_everything_once_newest_first(world: World, name: str, limit: int) -> None:
    path, user, expected = status_list(world, name)
    pages = walk(world.srv, path, user, limit=limit)
    assert all(len(p) <= limit for p in pages)
    assert all(len(p) == limit for p in pages[:-1])
    ids = [i for p in pages for i in ids_of(p)]
    assert_newest_first_no_dups(ids)
    assert ids == expected


@pytest.mark.parametrize("name", sorted(STATUS_LISTS))
def test_min_id_returns_the_page_immediately_above(world: World, name: str) -> None:
    path, user, expected = status_list(world, name)
    headers = user.headers if user else {}
    k = 20
    r = world.srv.client.get(path, headers=headers, params={"min_id": expected[k], "limit": 5})
    assert ids_of(r.json()) == expected[k - 5 : k]
    # Walking prev (min_id) links from the oldest page up reaches the newest without gaps.
    r = world.srv.client.get(path, headers=headers, params={"max_id": expected[-4], "limit": 3})
    collected = ids_of(r.json())
    for _ in range(100):
        prev = links(r).get("prev")
        r = world.srv.client.get(prev, headers=headers) if prev else None  # type: ignore[assignment]
        if r is None or not r.json():
            break
        collected = ids_of(r.json()) + collected
    assert collected == expected


@pytest.mark.parametrize("name", sorted(STATUS_LISTS))
def test_since_id_returns_the_newest_page_leaving_a_gap(world: World, name: str) -> None:
    path, user, expected = status_list(world, name)
    headers = user.headers if user else {}
    r = world.srv.client.get(path, headers=headers, params={"since_id": expected[20], "limit": 5})
    assert ids_of(r.json()) == expected[:5]
    r = world.srv.client.get(path, headers=headers, params={"since_id": expected[2], "limit": 5})
    assert ids_of(r.json()) == expected[:2]
    r = world.srv.client.get(path, headers=headers, params={"since_id": expected[0]})
    assert r.json() == [] and "link" not in r.headers


@pytest.mark.parametrize("name", sorted(STATUS_LISTS))
def test_max_id_and_min_id_combine(world: World, name: str) -> None:
    path, user, expected = status_list(world, name)
    headers = user.headers if user else {}
    r = world.srv.client.get(
        path, headers=headers, params={"max_id": expected[3], "min_id": expected[10], "limit": 40}
    )
    assert ids_of(r.json()) == expected[4:10]
    r = world.srv.client.get(
        path, headers=headers, params={"max_id": expected[3], "min_id": expected[10], "limit": 2}
    )
    assert ids_of(r.json()) == expected[8:10]


@pytest.mark.parametrize("name", sorted(STATUS_LISTS))
def test_limit_is_clamped_to_40_and_defaults_to_20(world: World, name: str) -> None:
    path, user, expected = status_list(world, name)
    headers = user.headers if user else {}
    assert len(expected) > 40
    assert ids_of(world.srv.client.get(path, headers=headers, params={"limit": 1000}).json()) == expected[:40]
    assert ids_of(world.srv.client.get(path, headers=headers).json()) == expected[:20]


@pytest.mark.parametrize("name", sorted(STATUS_LISTS))
def test_link_header_format(world: World, name: str) -> None:
    path, user, expected = status_list(world, name)
    headers = user.headers if user else {}
    r = world.srv.client.get(path, headers=headers, params={"limit": 3, "max_id": expected[5]})
    assert ids_of(r.json()) == expected[6:9]
    assert r.headers["link"] == (
        f'<{BASE_URL}{path}?limit=3&max_id={expected[8]}>; rel="next", '
        f'<{BASE_URL}{path}?limit=3&min_id={expected[6]}>; rel="prev"'
    )
    empty = world.srv.client.get(path, headers=headers, params={"max_id": expected[-1]})
    assert empty.status_code == 200 and empty.json() == [] and "link" not in empty.headers


def test_public_link_carries_local(world: World) -> None:
    r = world.srv.client.get("/api/v1/timelines/public", params={"local": "true", "limit": 2})
    for url in links(r).values():
        assert parse_qs(urlsplit(url).query)["local"] == ["true"]


def test_account_statuses_link_carries_filters(world: World) -> None:
    path = f"/api/v1/accounts/{world.alice.id}/statuses"
    r = world.srv.client.get(path, params={"exclude_replies": "true", "limit": 2})
    assert ids_of(r.json()) == world.alice_ids[:2]
    for url in links(r).values():
        assert parse_qs(urlsplit(url).query)["exclude_replies"] == ["true"]


def test_tagged_filter_finds_older_tagged_statuses(world: World) -> None:
    srv = world.srv
    writer = srv.quick_user("tagger")
    tagged = srv.post(writer, "an old post with #needle")
    for i in range(3):
        srv.post(writer, f"newer untagged {i}")
    r = srv.client.get(f"/api/v1/accounts/{writer.id}/statuses", params={"tagged": "needle", "limit": 2})
    assert ids_of(r.json()) == [tagged["id"]]


# -- notifications -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notification_ids(world: World) -> list[str]:
    r = world.srv.client.get("/api/v1/notifications", headers=world.bob.headers, params={"limit": 80})
    first = ids_of(r.json())
    rest = world.srv.client.get(
        "/api/v1/notifications", headers=world.bob.headers, params={"limit": 80, "max_id": first[-1]}
    )
    everything = first + ids_of(rest.json())
    assert len(everything) == TOTAL_BY_ALICE + MENTIONS_BY_CAROL  # all mentions: nobody follows bob
    return everything


@pytest.mark.parametrize("limit", [1, 9, 80])
def test_notifications_walk(world: World, notification_ids: list[str], limit: int) -> None:
    pages = walk(world.srv, "/api/v1/notifications", world.bob, limit=limit)
    ids = [i for p in pages for i in ids_of(p)]
    assert_newest_first_no_dups(ids)
    assert ids == notification_ids


def test_notifications_limit_clamps_to_80_and_defaults_to_40(world: World, notification_ids: list[str]) -> None:
    c, h = world.srv.client, world.bob.headers
    assert ids_of(c.get("/api/v1/notifications", headers=h, params={"limit": 1000}).json()) == notification_ids[:80]
    assert ids_of(c.get("/api/v1/notifications", headers=h).json()) == notification_ids[:40]


def test_notifications_min_id_and_since_id(world: World, notification_ids: list[str]) -> None:
    c, h, ids = world.srv.client, world.bob.headers, notification_ids
    assert ids_of(c.get("/api/v1/notifications", headers=h, params={"min_id": ids[30], "limit": 4}).json()) == ids[26:30]
    assert ids_of(c.get("/api/v1/notifications", headers=h, params={"since_id": ids[30], "limit": 4}).json()) == ids[:4]


def test_notification_links_carry_type_filters(world: World) -> None:
    params = {"types[]": ["mention"], "exclude_types[]": ["follow"], "limit": 5}
    r = world.srv.client.get("/api/v1/notifications", headers=world.bob.headers, params=params)
    assert len(r.json()) == 5
    for url in links(r).values():
        query = parse_qs(urlsplit(url).query)
        assert query["types[]"] == ["mention"] and query["exclude_types[]"] == ["follow"]
    pages = walk(world.srv, "/api/v1/notifications", world.bob, **params)
    assert sum(len(p) for p in pages) == TOTAL_BY_ALICE + MENTIONS_BY_CAROL
    assert all(n["type"] == "mention" for p in pages for n in p)


def test_notification_filter_by_account_survives_paging(world: World) -> None:
    """Mastodon carries account_id into the Link URLs, so following next keeps the filter."""
    pages = walk(world.srv, "/api/v1/notifications", world.bob, account_id=world.carol.id, limit=10)
    senders = {n["account"]["id"] for p in pages for n in p}
    assert senders == {world.carol.id}
    assert sum(len(p) for p in pages) == MENTIONS_BY_CAROL


# -- account lists (cursor = follow / favourite id) -----------------------------------------------


def account_list_expectation(world: World, name: str) -> tuple[str, list[str]]:
    if name == "followers":  # alice's followers, newest follow first
        return f"/api/v1/accounts/{world.alice.id}/followers", [f.id for f in reversed(world.fans)] + [world.bob.id]
    if name == "following":  # bob followed alice first, then each fan
        return f"/api/v1/accounts/{world.bob.id}/following", [f.id for f in reversed(world.fans)] + [world.alice.id]
    # favourited_by: bob first, then the fans in order
    return f"/api/v1/statuses/{world.popular}/favourited_by", [f.id for f in reversed(world.fans)] + [world.bob.id]


ACCOUNT_LISTS = ["followers", "following", "favourited_by"]


@pytest.mark.parametrize("name", ACCOUNT_LISTS)
@pytest.mark.parametrize("limit", [1, 3, 5, 40])
def test_account_list_walk(world: World, name: str, limit: int) -> None:
    path, expected = account_list_expectation(world, name)
    pages = walk(world.srv, path, None, limit=limit)
    ids = [a["id"] for p in pages for a in p]
    assert len(ids) == len(set(ids))
    assert ids == expected
    # "next" only when the page is full (Mastodon's follow lists).
    r = world.srv.client.get(path, params={"limit": 40})
    assert "next" not in links(r) and "prev" in links(r)


@pytest.mark.parametrize("name", ACCOUNT_LISTS)
def test_account_list_default_and_clamped_limit(world: World, name: str) -> None:
    path, expected = account_list_expectation(world, name)
    for params in ({}, {"limit": 1000}):
        r = world.srv.client.get(path, params=params)
        assert r.status_code == 200
        assert [a["id"] for a in r.json()] == expected  # 10 < 40 (default) < 80 (maximum)


@pytest.mark.parametrize("name", ACCOUNT_LISTS)
def test_account_list_prev_link(world: World, name: str) -> None:
    path, expected = account_list_expectation(world, name)
    r = world.srv.client.get(path, params={"limit": 3})
    first = [a["id"] for a in r.json()]
    assert first == expected[:3]
    nxt = world.srv.client.get(links(r)["next"])
    second = [a["id"] for a in nxt.json()]
    assert second == expected[3:6]
    prev = links(nxt)["prev"]
    assert urlsplit(prev).path == path
    back = world.srv.client.get(prev)
    # Follow lists use since_id for prev (newest page above); favourited_by uses min_id (adjacent).
    assert [a["id"] for a in back.json()] == expected[:3]
    # The cursors are opaque (follow/favourite ids), but min_id and since_id behave as for statuses.
    cursor = parse_qs(urlsplit(links(r)["next"]).query)["max_id"][0]  # the 3rd newest entry
    above = world.srv.client.get(path, params={"min_id": cursor, "limit": 1})
    assert [a["id"] for a in above.json()] == expected[1:2]
    newest = world.srv.client.get(path, params={"since_id": cursor, "limit": 1})
    assert [a["id"] for a in newest.json()] == expected[:1]


def test_favourites_list_walks_in_favourite_order(world: World) -> None:
    """GET /api/v1/favourites pages by favourite id: the order bob favourited, newest first."""
    expected = list(reversed([world.popular, *world.alice_ids[:25]]))
    pages = walk(world.srv, "/api/v1/favourites", world.bob, limit=4)
    ids = [s["id"] for p in pages for s in p]
    assert ids == expected
    r = world.srv.client.get("/api/v1/favourites", headers=world.bob.headers, params={"limit": 1000})
    assert len(r.json()) == 26  # clamp to 40 is above what exists


# -- home with read-time merge (celebrities) ------------------------------------------------------


@pytest.fixture(scope="module", params=["fanout", "celebrity-merge"])
def home_world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, User, list[str]]]:
    threshold = 10_000 if request.param == "fanout" else 1
    with running_server(tmp_path_factory.mktemp("home"), celebrity_threshold=threshold) as srv:
        reader, a, b = srv.quick_user("reader"), srv.quick_user("author_a"), srv.quick_user("author_b")
        srv.follow(reader, a)
        srv.follow(reader, b)
        stranger = srv.quick_user("stranger")
        ids = []
        for i in range(12):
            ids.append(srv.post(a, f"a{i}")["id"])
            ids.append(srv.post(b, f"b{i}")["id"])
            ids.append(srv.post(reader, f"mine {i}")["id"])
            srv.post(stranger, f"not followed {i}")
        srv.drain()
        yield srv, reader, sorted(ids, key=int, reverse=True)


@pytest.mark.parametrize("limit", [1, 5, 36, 40])
def test_home_walk_with_and_without_read_time_merge(
    home_world: tuple[Server, User, list[str]], limit: int
) -> None:
    srv, reader, expected = home_world
    ids = [s["id"] for p in walk(srv, "/api/v1/timelines/home", reader, limit=limit) for s in p]
    assert ids == expected
    r = srv.client.get("/api/v1/timelines/home", headers=reader.headers, params={"min_id": expected[10], "limit": 4})
    assert ids_of(r.json()) == expected[6:10]
    r = srv.client.get("/api/v1/timelines/home", headers=reader.headers, params={"since_id": expected[10], "limit": 4})
    assert ids_of(r.json()) == expected[:4]


def test_many_private_statuses_do_not_hide_older_public_ones(world: World) -> None:
    srv = world.srv
    hermit, visitor = srv.quick_user("hermit"), srv.quick_user("visitor")
    # unlisted: on the profile for everyone, but off the public timeline the other tests walk
    public = srv.post(hermit, "an old status", visibility="unlisted")["id"]
    identity = srv.call(srv.container.oauth.identify, hermit.token)

    async def many_private() -> None:
        for i in range(1300):
            await srv.container.statuses.create(identity, f"followers only {i}", visibility="private")

    srv.call(many_private)
    path = f"/api/v1/accounts/{hermit.id}/statuses"
    assert [s["id"] for s in srv.get(path, None, limit=20)] == [public]
    pages = walk(srv, path, visitor, limit=20)
    assert [s["id"] for p in pages for s in p] == [public]
