"""favourited/reblogged on timelines, for ordinary accounts (a cached set of all
their favourites and reblogs) and very active ones (asked per page instead)."""

from __future__ import annotations

import pytest

from roost.services.statuses import statuses as statuses_module

from .harness import Server


@pytest.mark.parametrize("limit", [10_000, 1])
def test_flags_on_home_and_account_timelines(srv: Server, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    monkeypatch.setattr(statuses_module, "VIEWER_SET_LIMIT", limit)
    author, reader = srv.quick_user(f"flagsa{limit}"), srv.quick_user(f"flagsr{limit}")
    srv.follow(reader, author)
    liked, boosted, plain = (srv.post(author, text) for text in ("liked", "boosted", "plain"))
    for status, verb in ((liked, "favourite"), (boosted, "favourite"), (boosted, "reblog")):
        response = srv.client.post(f"/api/v1/statuses/{status['id']}/{verb}", headers=reader.headers)
        assert response.status_code == 200
    srv.drain()
    for path in ("/api/v1/timelines/home", f"/api/v1/accounts/{author.id}/statuses"):
        for entry in srv.get(path, reader):
            original = entry["reblog"] or entry
            expected = {
                liked["id"]: (True, False), boosted["id"]: (True, True), plain["id"]: (False, False),
            }[original["id"]]
            assert (entry["favourited"], entry["reblogged"]) == expected, (path, original["content"])
