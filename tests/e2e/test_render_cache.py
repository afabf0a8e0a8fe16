"""The home timeline's render micro-cache: bounded staleness for embedded authors,
never for the status itself or the viewer's own flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import RoostServer, wait_until

pytestmark = pytest.mark.e2e

TTL = 0.5


def home_entry(user: Any, status_id: str) -> dict[str, Any]:
    return next(s for s in user.get("/api/v1/timelines/home") if s["id"] == status_id)


@pytest.mark.parametrize("ttl", [TTL, 0.0])
def test_home_staleness_is_bounded(make_server: Callable[..., RoostServer], new_user: Any, ttl: float) -> None:
    server = make_server().start({"ROOST_RENDER_CACHE_SECONDS": str(ttl)})
    author, reader = new_user(server.url), new_user(server.url)
    reader.follow(author)
    posted = author.status("micro-cache probe")
    wait_until(lambda: posted["id"] in reader.home_ids(), message="fanout")
    home_entry(reader, posted["id"])  # rendered once: now in the micro-cache

    # The status's own counters and the viewer's flags are always current.
    reader.post(f"/api/v1/statuses/{posted['id']}/favourite")
    entry = home_entry(reader, posted["id"])
    assert entry["favourites_count"] == 1 and entry["favourited"] is True

    # The embedded author may lag, but by no more than the configured time.
    r = author.client.patch("/api/v1/accounts/update_credentials", json={"display_name": "Renamed"})
    assert r.status_code == 200
    if ttl == 0:
        assert home_entry(reader, posted["id"])["account"]["display_name"] == "Renamed"
        return
    wait_until(lambda: home_entry(reader, posted["id"])["account"]["display_name"] == "Renamed",
               timeout=ttl + 5, message="author refresh after the render cache lapses")
    # Other routes are never served from the micro-cache.
    assert author.get(f"/api/v1/statuses/{posted['id']}")["account"]["display_name"] == "Renamed"
