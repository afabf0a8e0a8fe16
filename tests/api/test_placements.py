"""Sharding placements wired into registration (issue #9 item 6): the configured placement decides
which shard file a new account's rows land in, and the account is found again through the API.

The unit tests (tests/unit/domain/test_placements.py) cover each placement's rules; these check
that roost actually uses them: rows are looked for in the physical shard files themselves."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from roost.adapters.embedded.database import shard_file_name
from roost.adapters.embedded.manifest import SHARDS_DIR
from roost.domain.ids import shard_of
from roost.domain.placements import ShardDirectory
from roost.runtime.placement import DIRECTORY_FILE, save_directory
from roost.settings import Settings

from .harness import Server, assert_error, running_server

GEO = {"placement": "geo", "placement_regions": "eu:0-511,us:512-767,ap:768-1023",
       "placement_default_region": "eu"}


def run_lifespan_startup(app: Any) -> list[dict[str, Any]]:
    """The ASGI lifespan startup's messages (as tests/unit/runtime/test_startup_failure.py)."""
    sent: list[dict[str, Any]] = []
    messages = [{"type": "lifespan.startup"}]

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else await asyncio.Event().wait()  # type: ignore[func-returns-value]

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    return sent


def register(srv: Server, username: str, token: str | None = None, **extra: str) -> Any:
    headers = {"Authorization": f"Bearer {token or srv.app_token()}"}
    return srv.client.post("/api/v1/accounts", headers=headers, data={
        "username": username, "email": f"{username}@example.com", "password": "correct horse battery",
        "agreement": "1", "locale": "en", **extra})


def registered_id(srv: Server, username: str, **extra: str) -> int:
    r = register(srv, username, **extra)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = srv.client.get("/api/v1/accounts/verify_credentials", headers={"Authorization": f"Bearer {token}"})
    return int(me.json()["id"])


def stored_on(data: Path, account_id: int) -> list[int]:
    """The physical shard files holding the account's row (read from the files, not through roost)."""
    found = []
    for path in sorted((data / SHARDS_DIR).glob("shard-*.sqlite3")):
        with sqlite3.connect(path) as db:
            if db.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone():
                found.append(int(path.stem.split("-")[1]))
    return found


def found_by_api(srv: Server, account_id: int, username: str) -> bool:
    r = srv.client.get(f"/api/v1/accounts/{account_id}")
    return r.status_code == 200 and r.json()["username"] == username


def test_geo_puts_an_account_on_its_regions_node_and_finds_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data, **GEO) as srv:
        placed = {name: registered_id(srv, name, region=region)
                  for name, region in [("anna", "us"), ("bert", "ap"), ("cleo", "eu"), ("dora", "us")]}
        placed["emil"] = registered_id(srv, "emil")  # no region: the default, eu
        placed["fred"] = registered_id(srv, "fred", region="  ")  # blank: the default too
        for name, account_id in placed.items():
            assert found_by_api(srv, account_id, name)
    # With 1024 logical shards on 4 nodes: eu's 0-511 are nodes 0-1, us's 512-767 node 2, ap's node 3.
    expected = {"anna": {2}, "dora": {2}, "bert": {3}, "cleo": {0, 1}, "emil": {0, 1}, "fred": {0, 1}}
    for name, account_id in placed.items():
        nodes = stored_on(data, account_id)
        assert len(nodes) == 1 and nodes[0] in expected[name], (name, nodes)
    assert 512 <= shard_of(placed["anna"]) < 768 and shard_of(placed["bert"]) >= 768


def test_geo_refuses_an_unknown_region_and_stores_nothing(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", **GEO) as srv:
        token = srv.app_token()
        before = srv.fingerprint()
        body = assert_error(register(srv, "gina", token, region="mars"), 422)
        assert body["error"] == "Validation failed: Region is not one of ap, eu, us"
        assert body["details"] == {"region": [{"error": "ERR_INCLUSION", "description": "is not one of ap, eu, us"}]}
        assert srv.fingerprint() == before
        assert srv.client.get("/api/v1/accounts/lookup", params={"acct": "gina"}).status_code == 404
        assert registered_id(srv, "gina", region="eu")  # the name was not taken by the refusal


def test_region_is_ignored_by_the_other_placements(tmp_path: Path) -> None:
    with running_server(tmp_path / "data") as srv:
        assert found_by_api(srv, registered_id(srv, "hugo", region="mars"), "hugo")


def test_range_puts_usernames_in_order_on_the_nodes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    names = ["abel", "fay", "gus", "mia", "nils", "sven", "tom", "zoe"]
    with running_server(data, placement="range", placement_ranges="g,n,t") as srv:
        placed = {name: registered_id(srv, name) for name in names}
        assert all(found_by_api(srv, placed[name], name) for name in names)
    assert [stored_on(data, placed[name]) for name in names] == [[0], [0], [1], [1], [2], [2], [3], [3]]


def test_directory_places_by_its_table_and_finds_a_moved_shard_at_its_new_node(tmp_path: Path) -> None:
    data = tmp_path / "data"
    # Every logical shard on node 3 except the first quarter's, which stays on node 0: a table the
    # default contiguous blocks would never give.
    table = ShardDirectory.initial(1024, 4)
    for logical in range(256, 1024):
        table = table.moved(logical, 3)
    save_directory(data / DIRECTORY_FILE, table)
    with running_server(data, placement="directory") as srv:
        placed = {name: registered_id(srv, name) for name in ("ines", "jack", "kim", "lou", "max", "ned")}
    for account_id in placed.values():
        assert stored_on(data, account_id) == [table.physical_for_logical(shard_of(account_id))]
        assert stored_on(data, account_id) in ([0], [3])

    # Move one account's logical shard from node 3 to node 1: copy its rows, then flip the table.
    account_id = next(i for i in placed.values() if stored_on(data, i) == [3])
    logical = shard_of(account_id)
    source, target = (data / SHARDS_DIR / shard_file_name(n) for n in (3, 1))
    with sqlite3.connect(target) as db:
        db.execute("ATTACH DATABASE ? AS source", (str(source),))
        ids = [row[0] for row in db.execute("SELECT id FROM source.accounts")]
        moving = [i for i in ids if shard_of(i) == logical]
        marks = ",".join("?" * len(moving))
        db.execute(f"INSERT INTO accounts SELECT * FROM source.accounts WHERE id IN ({marks})", moving)
        db.execute(f"DELETE FROM source.accounts WHERE id IN ({marks})", moving)
    save_directory(data / DIRECTORY_FILE, table.moved(logical, 1))
    assert stored_on(data, account_id) == [1]
    with running_server(data, placement="directory") as srv:
        for each, each_id in placed.items():
            assert found_by_api(srv, each_id, each), each  # the moved one at node 1, the rest as before


def test_directory_table_is_written_on_first_start_and_kept(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_server(data, placement="directory") as srv:
        account_id = registered_id(srv, "olga")
    written = ShardDirectory.from_json((data / DIRECTORY_FILE).read_text())
    assert written == ShardDirectory.initial(1024, 4)
    assert stored_on(data, account_id) == [shard_of(account_id) // 256]
    save_directory(data / DIRECTORY_FILE, written.moved(0, 3))
    with running_server(data, placement="directory"):
        pass
    assert ShardDirectory.from_json((data / DIRECTORY_FILE).read_text()).version == 2  # not rewritten


@pytest.mark.parametrize(("settings", "says"), [
    ({"placement": "consistent"}, "placement must be one of hash, range, directory, geo, not 'consistent'"),
    ({"placement": "range"}, "range placement needs placement_ranges"),
    ({"placement": "geo", "placement_regions": "eu:0-99", "placement_default_region": "us"},
     "placement_default_region 'us' is not one of the regions: eu"),
])
def test_a_bad_placement_setting_refuses_the_start_in_one_line(
        tmp_path: Path, settings: dict[str, str], says: str) -> None:
    from roost.gateway.app import create_app
    from roost.runtime.asgi import OneLineStartupFailure

    app = OneLineStartupFailure(create_app(Settings(data_dir=tmp_path / "data", **settings)))  # type: ignore[arg-type]
    [message] = run_lifespan_startup(app)
    assert message["type"] == "lifespan.startup.failed"
    assert message["message"].startswith(f"roost: refusing to start: sharding placement: {says}"), message


def test_a_broken_directory_file_refuses_the_start(tmp_path: Path) -> None:
    from roost.gateway.app import create_app
    from roost.runtime.asgi import OneLineStartupFailure

    data = tmp_path / "data"
    data.mkdir()
    (data / DIRECTORY_FILE).write_text("{not json")
    app = OneLineStartupFailure(create_app(Settings(data_dir=data, placement="directory")))
    [message] = run_lifespan_startup(app)
    assert message["message"].startswith(
        f"roost: refusing to start: sharding placement: {data / DIRECTORY_FILE}: shard directory is not JSON")
