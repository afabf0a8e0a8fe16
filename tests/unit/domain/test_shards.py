"""The shard map: logical shards (placement by hash) -> physical databases (the directory)."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from roost.domain.ids import MAX_LOGICAL_SHARDS, compose
from roost.domain.shards import ShardMap, stable_hash


def test_stable_hash_is_blake2b_and_process_independent() -> None:
    expected = int.from_bytes(hashlib.blake2b(b"alice", digest_size=8).digest(), "big")
    assert stable_hash("alice") == expected
    assert stable_hash(42) == int.from_bytes(
        hashlib.blake2b((42).to_bytes(8, "big"), digest_size=8).digest(), "big"
    )
    assert stable_hash("alice") != stable_hash("bob")


def test_placement_is_deterministic_across_instances() -> None:
    a, b = ShardMap(1024, 4), ShardMap(1024, 4)
    for key in ["alice", "bob", "username:carol", 7, 2**40]:
        assert a.logical_for_key(key) == b.logical_for_key(key) == stable_hash(key) % 1024
        assert a.physical_for_key(key) == b.physical_for_key(key)


def test_hash_placement_spreads_keys() -> None:
    shard_map = ShardMap(1024, 4)
    counts = Counter(shard_map.physical_for_key(f"user{i}") for i in range(4000))
    assert set(counts) == {0, 1, 2, 3}
    assert min(counts.values()) > 800  # ~1000 each


def test_default_map_assigns_every_logical_shard_in_contiguous_blocks() -> None:
    shard_map = ShardMap(1024, 4)
    assert len(shard_map.assignment) == 1024
    assert Counter(shard_map.assignment) == {0: 256, 1: 256, 2: 256, 3: 256}
    assert shard_map.logical_shards_on(2) == list(range(512, 768))
    assert sorted(s for p in range(4) for s in shard_map.logical_shards_on(p)) == list(range(1024))


@pytest.mark.parametrize(("logical", "physical"), [(1, 1), (8, 3), (10, 4), (1024, 4), (1024, 7), (8192, 5)])
def test_every_logical_shard_maps_to_a_valid_physical_one(logical: int, physical: int) -> None:
    shard_map = ShardMap(logical, physical)
    assert len(shard_map.assignment) == logical
    assert all(0 <= p < physical for p in shard_map.assignment)
    assert list(shard_map.assignment) == sorted(shard_map.assignment)  # contiguous blocks


@pytest.mark.parametrize(("logical", "physical"), [(6, 4), (5, 4), (10, 6)])
def test_every_physical_shard_owns_some_logical_shard(logical: int, physical: int) -> None:
    assert set(ShardMap(logical, physical).assignment) == set(range(physical))


def test_for_id_routes_by_the_shard_bits_of_the_id() -> None:
    shard_map = ShardMap(1024, 4)
    for logical in range(1024):
        snowflake = compose(987_654, logical, 17)
        assert shard_map.physical_for_id(snowflake) == shard_map.physical_for_logical(logical)
        assert shard_map.physical_for_id(snowflake) == logical // 256


def test_ids_beyond_the_logical_count_wrap_onto_it() -> None:
    shard_map = ShardMap(16, 2)
    assert shard_map.physical_for_id(compose(1, 16 + 3, 0)) == shard_map.physical_for_logical(3)


def test_explicit_assignment_is_the_directory() -> None:
    shard_map = ShardMap(4, 2, assignment=(1, 1, 0, 0))
    assert shard_map.physical_for_id(compose(5, 0, 0)) == 1
    assert shard_map.physical_for_id(compose(5, 3, 0)) == 0
    assert shard_map.logical_shards_on(0) == [2, 3]


@pytest.mark.parametrize(
    ("logical", "physical", "assignment"),
    [(0, 1, ()), (MAX_LOGICAL_SHARDS + 1, 1, ()), (4, 0, ()), (4, 5, ()), (4, 2, (0, 1, 0))],
)
def test_invalid_maps_are_rejected(logical: int, physical: int, assignment: tuple[int, ...]) -> None:
    with pytest.raises(ValueError):
        ShardMap(logical, physical, assignment)


def test_ids_by_physical_groups_in_order() -> None:
    shard_map = ShardMap(64, 2)
    a, b = shard_map.logical_shards_on(0)[0], shard_map.logical_shards_on(1)[0]
    ids = [compose(1, a, 0), compose(2, b, 0), compose(3, a, 0)]
    assert shard_map.ids_by_physical(ids) == {0: [ids[0], ids[2]], 1: [ids[1]]}
    assert shard_map.ids_by_physical([]) == {}
