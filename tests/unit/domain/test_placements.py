"""Placements (issue #9 item 6): each one places a set of accounts and finds each again by its id
(id -> logical shard in its bits -> physical node), with the distribution it promises."""

from __future__ import annotations

import json
import random
import re
from collections import Counter

import pytest

from roost.domain.ids import IdGenerator, shard_of
from roost.domain.placements import (
    DirectoryPlacement,
    GeoPlacement,
    HashPlacement,
    Placement,
    PlacementConfig,
    PlacementError,
    PlacementRequest,
    RangePlacement,
    ShardDirectory,
    UnknownRegion,
    build_placement,
    parse_regions,
    physical_for_id,
)
from roost.domain.shards import ShardMap

LOGICAL, PHYSICAL = 1024, 4


def people(count: int, seed: int = 7, regions: tuple[str | None, ...] = (None,)) -> list[PlacementRequest]:
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [PlacementRequest(username="".join(rng.choice(letters) for _ in range(8)) + str(i),
                       key=rng.getrandbits(62), region=rng.choice(regions)) for i in range(count)]


class Store:
    """Physical nodes as dicts: the test's stand-in for the shard databases. Rows go where the
    placement puts them, and are read back by id only, as the services route."""

    def __init__(self, placement: Placement) -> None:
        self.placement = placement
        self.nodes: list[dict[int, PlacementRequest]] = [{} for _ in range(placement.shard_map.physical)]
        self.ids = IdGenerator()

    def create(self, account: PlacementRequest) -> int:
        account_id = self.ids.next_id(self.placement.logical_for(account))
        self.nodes[physical_for_id(self.placement, account_id)][account_id] = account
        return account_id

    def find(self, account_id: int) -> PlacementRequest | None:
        return self.nodes[physical_for_id(self.placement, account_id)].get(account_id)


def place_and_find(placement: Placement, accounts: list[PlacementRequest]) -> dict[int, PlacementRequest]:
    store = Store(placement)
    made = {store.create(a): a for a in accounts}
    assert len(made) == len(accounts)
    for account_id, account in made.items():
        assert store.find(account_id) == account
    assert sum(len(n) for n in store.nodes) == len(accounts)
    return made


def configured(kind: str, **settings: str) -> Placement:
    return build_placement(PlacementConfig(kind=kind, **settings), LOGICAL, PHYSICAL)


# --- hash (the default) -----------------------------------------------------------------------


def test_hash_places_and_finds_every_account_evenly() -> None:
    placement = configured("hash")
    assert isinstance(placement, HashPlacement)
    made = place_and_find(placement, people(8000))
    per_node = Counter(physical_for_id(placement, i) for i in made)
    assert set(per_node) == set(range(PHYSICAL))
    assert min(per_node.values()) > 1800  # 2000 each, binomial sd ~39
    assert len({shard_of(i) for i in made}) > 1000  # nearly every logical shard used


def test_hash_is_what_registration_always_did() -> None:
    """Existing installs keep placing exactly as before: hash of the random key over the map."""
    shard_map = ShardMap(LOGICAL, PHYSICAL)
    for account in people(200):
        assert HashPlacement(shard_map).logical_for(account) == shard_map.logical_for_key(account.key)


# --- range ------------------------------------------------------------------------------------


def test_range_by_username_keeps_order_and_finds_every_account() -> None:
    placement = configured("range", ranges="g,n,t")
    assert isinstance(placement, RangePlacement)
    accounts = people(2000)
    made = place_and_find(placement, accounts)
    by_name = sorted(made, key=lambda i: made[i].username)
    logicals = [shard_of(i) for i in by_name]
    assert logicals == sorted(logicals)  # ordered: a name range is a shard range
    assert set(logicals) == {0, 256, 512, 768}
    nodes = [physical_for_id(placement, i) for i in by_name]
    assert nodes == sorted(nodes) and set(nodes) == {0, 1, 2, 3}
    for account_id, account in made.items():
        first = account.username[0]
        expected = 0 if first < "g" else 1 if first < "n" else 2 if first < "t" else 3
        assert physical_for_id(placement, account_id) == expected


def test_range_bounds_are_lower_bounds_and_case_insensitive() -> None:
    placement = configured("range", ranges="h,p")
    assert [placement.logical_for(PlacementRequest(name, 1)) for name in ("a", "gzz", "h", "H", "ozz", "p", "zed")] == [
        0, 0, 341, 341, 341, 682, 682]


def test_range_by_numeric_key() -> None:
    placement = configured("range", ranges="1000,2000", range_by="key")
    accounts = [PlacementRequest(f"u{k}", k) for k in (0, 5, 999, 1000, 1500, 1999, 2000, 10**15)]
    made = place_and_find(placement, accounts)
    assert [shard_of(i) for i in made] == [0, 0, 0, 341, 341, 341, 682, 682]


# --- geo --------------------------------------------------------------------------------------


def test_geo_keeps_each_region_on_its_own_shards_and_nodes() -> None:
    placement = configured("geo", regions="eu:0-511,us:512-767,ap:768-1023", default_region="eu")
    assert isinstance(placement, GeoPlacement)
    accounts = people(3000, regions=("eu", "us", "ap", None))
    made = place_and_find(placement, accounts)
    home = {"eu": range(0, 512), "us": range(512, 768), "ap": range(768, 1024)}
    nodes = {"eu": {0, 1}, "us": {2}, "ap": {3}}
    for account_id, account in made.items():
        region = account.region or "eu"  # no region: the default region's shards
        assert shard_of(account_id) in home[region]
        assert physical_for_id(placement, account_id) in nodes[region]
        assert placement.region_of(shard_of(account_id)) == region
    # Within a region, accounts spread over its shards (hash of the key), not onto one.
    eu_nodes = Counter(physical_for_id(placement, i) for i, a in made.items() if a.region in ("eu", None))
    assert set(eu_nodes) == {0, 1} and min(eu_nodes.values()) > 500


def test_geo_refuses_a_region_it_does_not_have() -> None:
    placement = configured("geo", regions="eu:0-511,us:512-1023", default_region="us")
    with pytest.raises(UnknownRegion) as caught:
        placement.logical_for(PlacementRequest("alice", 1, region="mars"))
    assert caught.value.known == ("eu", "us")
    assert "'mars' is not one of eu, us" in str(caught.value)


def test_geo_regions_parse_spans_and_single_shards() -> None:
    assert parse_regions("eu:0-2, eu:9 ,us:3", 16) == {"eu": (0, 1, 2, 9), "us": (3,)}


def test_geo_default_region_is_the_first_when_not_set() -> None:
    placement = configured("geo", regions="us:0-9,eu:10-19")
    assert isinstance(placement, GeoPlacement) and placement.default_region == "us"


# --- directory --------------------------------------------------------------------------------


def test_directory_honours_its_table() -> None:
    # An uneven table: node 3 holds only logical shard 1023, node 0 the first half.
    assignment = tuple([0] * 512 + [1] * 256 + [2] * 255 + [3])
    table = ShardDirectory(ShardMap(LOGICAL, PHYSICAL, assignment))
    placement = build_placement(PlacementConfig(kind="directory"), LOGICAL, PHYSICAL, table)
    assert isinstance(placement, DirectoryPlacement)
    made = place_and_find(placement, people(4000))
    for account_id in made:
        assert physical_for_id(placement, account_id) == assignment[shard_of(account_id)]
    per_node = Counter(physical_for_id(placement, i) for i in made)
    assert per_node[0] > per_node[1] > per_node[3]


def test_a_moved_logical_shard_is_found_at_its_new_node() -> None:
    table = ShardDirectory.initial(LOGICAL, PHYSICAL)
    before = DirectoryPlacement(table)
    store = Store(before)
    made = {store.create(a): a for a in people(3000)}
    moving = shard_of(next(iter(made)))
    old_node = table.physical_for_logical(moving)
    new_node = (old_node + 1) % PHYSICAL

    # The later rebalance: copy the logical shard's rows, then flip the table.
    after_table = table.moved(moving, new_node)
    assert after_table.version == table.version + 1
    assert table.physical_for_logical(moving) == old_node  # the old table is a value, unchanged
    for account_id in [i for i in made if shard_of(i) == moving]:
        store.nodes[new_node][account_id] = store.nodes[old_node].pop(account_id)
    store.placement = DirectoryPlacement(after_table)

    for account_id, account in made.items():
        assert store.find(account_id) == account  # every id still routes, the moved ones included
        if shard_of(account_id) == moving:
            assert physical_for_id(store.placement, account_id) == new_node
        else:
            assert physical_for_id(store.placement, account_id) == physical_for_id(before, account_id)


def test_directory_round_trips_through_its_json_file_format() -> None:
    table = ShardDirectory.initial(16, 2).moved(3, 1).moved(12, 0)
    text = table.to_json()
    document = json.loads(text)
    assert document["format"] == "roost-shard-directory" and document["version"] == 1
    assert document["table_version"] == 3
    assert document["assignment"] == [0, 0, 0, 1, 0, 0, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1]
    assert ShardDirectory.from_json(text) == table


@pytest.mark.parametrize(("text", "message"), [
    ("not json", "not JSON"),
    ("[]", "not a shard directory"),
    ('{"format": "other"}', "not a shard directory"),
    ('{"format": "roost-shard-directory", "version": 2}', "format version 2 is not supported"),
    ('{"format": "roost-shard-directory", "version": 1, "table_version": 1, "logical": 2,'
     ' "physical": 1, "assignment": [0]}', "names 1 logical shards, not 2"),
    ('{"format": "roost-shard-directory", "version": 1, "table_version": 1, "logical": 2,'
     ' "physical": 2, "assignment": [0, 2]}', "outside 0..1"),
    ('{"format": "roost-shard-directory", "version": 1, "table_version": 1, "logical": 2,'
     ' "physical": 2, "assignment": [0, true]}', "list of integers"),
    ('{"format": "roost-shard-directory", "version": 1, "table_version": 0, "logical": 2,'
     ' "physical": 2, "assignment": [0, 1]}', "at least 1"),
    ('{"format": "roost-shard-directory", "version": 1, "table_version": 1, "logical": 0,'
     ' "physical": 0, "assignment": []}', "logical shards must be in 1..8192"),
])
def test_a_broken_directory_file_is_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(PlacementError, match=re.escape(message)):
        ShardDirectory.from_json(text)


def test_a_node_may_hold_no_logical_shard() -> None:
    """A node just added (or drained) holds none until shards are moved onto it."""
    table = ShardDirectory.from_json('{"format": "roost-shard-directory", "version": 1,'
                                     ' "table_version": 4, "logical": 3, "physical": 2, "assignment": [0, 0, 0]}')
    assert table.moved(2, 1).assignment == (0, 0, 1)


def test_moving_outside_the_table_is_refused() -> None:
    table = ShardDirectory.initial(8, 2)
    with pytest.raises(PlacementError, match=re.escape("logical shard 8 is outside 0..7")):
        table.moved(8, 0)
    with pytest.raises(PlacementError, match=re.escape("physical node 2 is outside 0..1")):
        table.moved(0, 2)


def test_a_directory_for_another_shape_is_refused() -> None:
    with pytest.raises(PlacementError, match="for 16 logical shards on 2 nodes, but roost runs 1024 on 4"):
        build_placement(PlacementConfig(kind="directory"), LOGICAL, PHYSICAL, ShardDirectory.initial(16, 2))


# --- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(("config", "message"), [
    (PlacementConfig(kind="consistent"), "placement must be one of hash, range, directory, geo, not 'consistent'"),
    (PlacementConfig(kind="range"), "range placement needs placement_ranges"),
    (PlacementConfig(kind="range", ranges="n,g"), "strictly ascending"),
    (PlacementConfig(kind="range", ranges="g,g"), "strictly ascending"),
    (PlacementConfig(kind="range", ranges="10,x", range_by="key"), "must be integers"),
    (PlacementConfig(kind="range", ranges="g", range_by="email"), "placement_range_by must be one of username, key"),
    (PlacementConfig(kind="geo"), "geo placement needs placement_regions"),
    (PlacementConfig(kind="geo", regions="eu"), "is not region:shards"),
    (PlacementConfig(kind="geo", regions="eu:"), "is not region:shards"),
    (PlacementConfig(kind="geo", regions="eu:a-b"), "not a shard number or a-b span"),
    (PlacementConfig(kind="geo", regions="eu:0-1024"), "must lie within 0..1023"),
    (PlacementConfig(kind="geo", regions="eu:9-3"), "low to high"),
    (PlacementConfig(kind="geo", regions="eu:0-600,us:500-1023"), "in both 'eu' and 'us'"),
    (PlacementConfig(kind="geo", regions="eu:0-511", default_region="us"),
     "placement_default_region 'us' is not one of the regions: eu"),
])
def test_bad_configs_are_refused_clearly(config: PlacementConfig, message: str) -> None:
    with pytest.raises(PlacementError, match=re.escape(message)):
        build_placement(config, LOGICAL, PHYSICAL)


def test_more_ranges_than_logical_shards_are_refused() -> None:
    with pytest.raises(PlacementError, match="5 ranges need at least as many logical shards"):
        build_placement(PlacementConfig(kind="range", ranges="b,c,d,e"), 4, 2)


def test_placement_names_are_case_and_space_tolerant() -> None:
    assert configured(" Hash ").name == "hash"
    assert configured("DIRECTORY").name == "directory"
