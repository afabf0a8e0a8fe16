"""The home page memo: a page is reused as sent only while nothing on it changed.

Each case reads the same home page twice (the second read is served from the
memo), changes one thing the page is made of, and checks the very next read
shows it. Embedded authors and originals are bounded by the render cache's
time instead: see tests/e2e/test_render_cache.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .harness import Server, User, running_server


@pytest.fixture(scope="module", params=["objects", "encoded"])
def srv(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Server]:
    # A long render time: any staleness beyond what the memo validates would show.
    # "encoded": the cache keeps bytes and hands back a new, equal copy on every
    # read, as a cache in another process (Redis) does: the memo must still hit,
    # by versions, and still see every change.
    with running_server(tmp_path_factory.mktemp("roost"), render_cache_seconds=600.0,
                        cache_encode=request.param == "encoded") as server:
        yield server


def home(srv: Server, user: User) -> list[dict[str, Any]]:
    response = srv.client.get("/api/v1/timelines/home", headers=user.headers)
    assert response.status_code == 200
    return response.json()  # type: ignore[no-any-return]


def memo_hits(srv: Server) -> int:
    return srv.container.extras["gateway"].serializer.pages.hits  # type: ignore[no-any-return]


@pytest.fixture
def pair(srv: Server, request: pytest.FixtureRequest) -> tuple[User, User, dict[str, Any]]:
    name = request.node.name.split("[")[0][-12:]
    author, reader = srv.quick_user(f"a{name}"), srv.quick_user(f"r{name}")
    srv.follow(reader, author)
    status = srv.post(author, "memo probe")
    srv.drain()
    first = home(srv, reader)
    hits = memo_hits(srv)
    assert home(srv, reader) == first and memo_hits(srv) == hits + 1  # the second read is the memo's
    return author, reader, status


def test_a_new_status_shows_at_once(srv: Server, pair: tuple[User, User, dict[str, Any]]) -> None:
    author, reader, _ = pair
    newer = srv.post(author, "newer")
    srv.drain()
    assert home(srv, reader)[0]["id"] == newer["id"]


def test_a_deleted_status_goes_at_once(srv: Server, pair: tuple[User, User, dict[str, Any]]) -> None:
    author, reader, status = pair
    assert srv.client.delete(f"/api/v1/statuses/{status['id']}", headers=author.headers).status_code == 200
    srv.drain()
    assert status["id"] not in [s["id"] for s in home(srv, reader)]


def test_the_readers_own_favourite_and_reblog_show_at_once(
    srv: Server, pair: tuple[User, User, dict[str, Any]]
) -> None:
    _, reader, status = pair
    for verb, flag in (("favourite", "favourited"), ("reblog", "reblogged")):
        assert srv.client.post(f"/api/v1/statuses/{status['id']}/{verb}", headers=reader.headers).status_code == 200
        entry = next(s for s in home(srv, reader) if s["id"] == status["id"])
        assert entry[flag] is True


def test_someone_elses_favourite_moves_the_counter_at_once(
    srv: Server, pair: tuple[User, User, dict[str, Any]]
) -> None:
    _, reader, status = pair
    other = srv.quick_user("memo_other")
    assert srv.client.post(f"/api/v1/statuses/{status['id']}/favourite", headers=other.headers).status_code == 200
    entry = next(s for s in home(srv, reader) if s["id"] == status["id"])
    assert entry["favourites_count"] == 1 and entry["favourited"] is False


def test_pages_are_memoised_per_query(srv: Server, pair: tuple[User, User, dict[str, Any]]) -> None:
    author, reader, _ = pair
    srv.post(author, "second")
    srv.drain()
    assert len(home(srv, reader)) == 2
    for _ in range(2):
        one = srv.client.get("/api/v1/timelines/home?limit=1", headers=reader.headers).json()
        assert len(one) == 1 and len(home(srv, reader)) == 2


def test_unit_memo_validates_versions_not_identity_and_time() -> None:
    import copy

    from roost.domain.entities import Status, ViewerFlags
    from roost.domain.versions import stamp
    from roost.gateway.page_memo import PageMemo

    def status(i: int, favourites: int = 0) -> Status:
        record = Status(id=i, account_id=1, text="t", content="<p>t</p>", visibility="public",
                        created_at_ms=i, favourites_count=favourites)
        stamp(record)
        return record

    def flags(*favourited: int) -> ViewerFlags:
        record = ViewerFlags(frozenset(favourited), frozenset())
        stamp(record)
        return record

    memo = PageMemo(max_pages=2)
    page, fav = [status(1), status(2)], flags(1)
    memo.put("k", page, fav, b"[1,2]", valid_until=10.0)
    # Equal but new objects, as a cache that decodes bytes hands back: still the same page.
    assert memo.get("k", copy.deepcopy(page), copy.deepcopy(fav), now=5.0) == b"[1,2]"
    assert memo.get("k", [status(1), status(2)], flags(1), now=5.0) == b"[1,2]"
    assert memo.get("k", [status(1), status(2, favourites=1)], fav, now=5.0) is None  # a counter moved
    assert memo.get("k", page, flags(1, 2), now=5.0) is None  # the viewer favourited something
    assert memo.get("k", page[:1], fav, now=5.0) is None
    assert memo.get("k", page, fav, now=10.5) is None  # past what its stalest status allows
    unversioned = [Status(id=3, account_id=1, text="t", content="c")]
    memo.put("u", unversioned, None, b"u", 10.0)  # nothing could tell it changed: not kept
    assert memo.get("u", unversioned, None, now=5.0) is None
    memo.put("k2", page, None, b"a", 10.0)
    memo.put("k3", page, None, b"b", 10.0)  # over capacity: the least recently put goes
    assert memo.get("k", page, fav, now=5.0) is None and len(memo) == 2
    off = PageMemo(max_pages=0)
    off.put("k", page, fav, b"x", 10.0)
    assert off.get("k", page, fav, now=1.0) is None
