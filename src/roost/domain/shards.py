"""Logical shards and the directory that maps them onto physical databases."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from roost.domain.ids import MAX_LOGICAL_SHARDS, shard_of


def stable_hash(key: str | int) -> int:
    """A hash that is the same in every process and every run (unlike ``hash()``)."""
    data = key.encode() if isinstance(key, str) else key.to_bytes(8, "big", signed=False)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


@dataclass(frozen=True)
class ShardMap:
    """Hash placement over ``logical`` shards, each owned by one of ``physical`` databases.

    Logical shards are contiguous blocks per physical database by default, so
    moving a block (or one shard) to a new database is a change of this map only.
    """

    logical: int
    physical: int
    assignment: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not 1 <= self.logical <= MAX_LOGICAL_SHARDS:
            raise ValueError(f"logical shards must be in 1..{MAX_LOGICAL_SHARDS}")
        if not 1 <= self.physical <= self.logical:
            raise ValueError("physical shards must be in 1..logical")
        if not self.assignment:
            object.__setattr__(
                self, "assignment", tuple(i * self.physical // self.logical for i in range(self.logical))
            )
        if len(self.assignment) != self.logical:
            raise ValueError("assignment must name a physical shard for every logical shard")

    def logical_for_key(self, key: str | int) -> int:
        return stable_hash(key) % self.logical

    def physical_for_logical(self, logical: int) -> int:
        return self.assignment[logical]

    def physical_for_id(self, snowflake: int) -> int:
        return self.assignment[shard_of(snowflake) % self.logical]

    def ids_by_physical(self, snowflakes: Iterable[int]) -> dict[int, list[int]]:
        """``snowflakes`` grouped by the physical shard each routes to, in their order."""
        groups: dict[int, list[int]] = {}
        for snowflake in snowflakes:
            groups.setdefault(self.physical_for_id(snowflake), []).append(snowflake)
        return groups

    def physical_for_key(self, key: str | int) -> int:
        return self.assignment[self.logical_for_key(key)]

    def logical_shards_on(self, physical: int) -> list[int]:
        return [i for i, p in enumerate(self.assignment) if p == physical]
