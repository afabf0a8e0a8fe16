"""Placements: which logical shard a new account lives on, and which physical node holds it.

A placement answers two questions. Which logical shard a NEW account gets is its own choice
(``logical_for``): by hash (the default), by range of usernames or of a numeric key, or by the
account's region. Where a logical shard lives is its ``shard_map`` (logical -> physical): contiguous
blocks by default, or the explicit table of a ``ShardDirectory`` that can be changed one logical
shard at a time. Once chosen, the logical shard is written into the account's id (and every id
minted for its rows), so finding data again never needs the placement's choice, only the map:
id -> logical shard (its bits) -> physical node.

Pure: config strings and JSON text in, values out; reading and writing files is the runtime's job.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal, Protocol

from roost.domain.ids import shard_of
from roost.domain.shards import ShardMap, stable_hash

PLACEMENTS = ("hash", "range", "directory", "geo")
RANGE_KEYS = ("username", "key")
DIRECTORY_FORMAT = "roost-shard-directory"
DIRECTORY_VERSION = 1


class PlacementError(ValueError):
    """A placement's configuration (or directory table) cannot be used; the message says why."""


@dataclass(frozen=True)
class PlacementRequest:
    """What a placement may look at when it picks a new account's logical shard.

    ``key`` is a random 62-bit number drawn at registration (an importer may pass its own
    numeric key, e.g. a former system's id, to place by it); ``region`` is the region the
    client asked for, or None."""

    username: str
    key: int
    region: str | None = None


class Placement(Protocol):
    """How accounts are spread: a new account's logical shard, and logical -> physical."""

    @property
    def name(self) -> str: ...

    @property
    def shard_map(self) -> ShardMap: ...

    def logical_for(self, account: PlacementRequest) -> int: ...


def physical_for_id(placement: Placement, snowflake: int) -> int:
    """Where the row of ``snowflake`` lives: the id carries its logical shard, no lookup."""
    return placement.shard_map.physical_for_logical(shard_of(snowflake) % placement.shard_map.logical)


@dataclass(frozen=True)
class HashPlacement:
    """A hash of the account's random key: accounts spread evenly over every logical shard."""

    shard_map: ShardMap
    name: str = field(default="hash", init=False)

    def logical_for(self, account: PlacementRequest) -> int:
        return self.shard_map.logical_for_key(account.key)


@dataclass(frozen=True)
class RangePlacement:
    """Ordered ranges of the lowercased username (or of the numeric key).

    ``bounds`` are the lower bounds of every range after the first, ascending: with bounds
    ``("h", "p")`` usernames before "h" form range 0, "h" up to (not including) "p" range 1, and
    the rest range 2. Range i goes to the first logical shard of the i-th of as many contiguous
    blocks, so with the default map the ranges land on the physical nodes in order too, and
    neighbouring usernames share a shard (a scan of a name range reads few shards)."""

    shard_map: ShardMap
    bounds: tuple[str, ...] | tuple[int, ...]
    by: Literal["username", "key"] = "username"
    name: str = field(default="range", init=False)

    def __post_init__(self) -> None:
        if self.by not in RANGE_KEYS:
            raise PlacementError(f"placement_range_by must be one of {', '.join(RANGE_KEYS)}, not {self.by!r}")
        kind = str if self.by == "username" else int
        if any(not isinstance(b, kind) or isinstance(b, bool) for b in self.bounds):
            raise PlacementError(f"range bounds by {self.by} must all be {kind.__name__}s")
        if any(a >= b for a, b in zip(self.bounds, self.bounds[1:], strict=False)):  # type: ignore[operator]
            raise PlacementError(f"range bounds must be strictly ascending: {list(self.bounds)}")
        if len(self.bounds) + 1 > self.shard_map.logical:
            raise PlacementError(f"{len(self.bounds) + 1} ranges need at least as many logical shards"
                                 f" (there are {self.shard_map.logical})")

    @property
    def ranges(self) -> int:
        return len(self.bounds) + 1

    def logical_of_range(self, index: int) -> int:
        return index * self.shard_map.logical // self.ranges

    def logical_for(self, account: PlacementRequest) -> int:
        value: str | int = account.username.lower() if self.by == "username" else account.key
        return self.logical_of_range(bisect_right(self.bounds, value))


@dataclass(frozen=True)
class GeoPlacement:
    """By region: each region owns a set of logical shards, and an account of that region goes
    to one of them (by hash of its key, so a region's accounts spread over its shards). With the
    map's logical -> physical table, a region's shards can sit on that region's nodes.

    An account without a region gets ``default_region``'s shards. A region nobody configured is
    refused (``UnknownRegion``): the client asked for a residence roost cannot give."""

    shard_map: ShardMap
    regions: Mapping[str, tuple[int, ...]]
    default_region: str
    name: str = field(default="geo", init=False)

    def __post_init__(self) -> None:
        if not self.regions:
            raise PlacementError("geo placement needs placement_regions (e.g. 'eu:0-511,us:512-1023')")
        owner: dict[int, str] = {}
        for region, shards in self.regions.items():
            if not shards:
                raise PlacementError(f"region {region!r} has no logical shards")
            for shard in shards:
                if not 0 <= shard < self.shard_map.logical:
                    raise PlacementError(f"region {region!r}: logical shard {shard} is outside"
                                         f" 0..{self.shard_map.logical - 1}")
                if shard in owner and owner[shard] != region:
                    raise PlacementError(f"logical shard {shard} is in both {owner[shard]!r} and {region!r}")
                owner[shard] = region
        if self.default_region not in self.regions:
            raise PlacementError(f"placement_default_region {self.default_region!r} is not one of the"
                                 f" regions: {', '.join(sorted(self.regions))}")

    def region_of(self, logical: int) -> str | None:
        for region, shards in self.regions.items():
            if logical in shards:
                return region
        return None

    def logical_for(self, account: PlacementRequest) -> int:
        region = self.default_region if account.region is None else account.region
        shards = self.regions.get(region)
        if shards is None:
            raise UnknownRegion(region, tuple(sorted(self.regions)))
        return shards[stable_hash(account.key) % len(shards)]


class UnknownRegion(PlacementError):
    """A new account asked for a region the geo placement does not have."""

    def __init__(self, region: str, known: tuple[str, ...]) -> None:
        super().__init__(f"region {region!r} is not one of {', '.join(known)}")
        self.region = region
        self.known = known


@dataclass(frozen=True)
class ShardDirectory:
    """The explicit, movable logical -> physical table.

    Moving one logical shard (copy its rows, catch up, flip) ends with ``moved``: a new table
    whose ``version`` is one higher, saved in place of the old one. The copy and catch-up are the
    later rebalance; this is the table, its file format and its lookup."""

    shard_map: ShardMap
    version: int = 1

    @classmethod
    def initial(cls, logical: int, physical: int) -> ShardDirectory:
        """The table a new directory starts from: the default contiguous blocks."""
        return cls(_checked_map(logical, physical, ()))

    @property
    def assignment(self) -> tuple[int, ...]:
        return self.shard_map.assignment

    def physical_for_logical(self, logical: int) -> int:
        return self.shard_map.physical_for_logical(logical)

    def moved(self, logical: int, to_physical: int) -> ShardDirectory:
        current = self.shard_map
        if not 0 <= logical < current.logical:
            raise PlacementError(f"logical shard {logical} is outside 0..{current.logical - 1}")
        if not 0 <= to_physical < current.physical:
            raise PlacementError(f"physical node {to_physical} is outside 0..{current.physical - 1}")
        assignment = list(current.assignment)
        assignment[logical] = to_physical
        return ShardDirectory(ShardMap(current.logical, current.physical, tuple(assignment)),
                              self.version + 1)

    def to_json(self) -> str:
        """The file format: one object; ``assignment[i]`` is logical shard i's physical node."""
        return json.dumps({
            "format": DIRECTORY_FORMAT, "version": DIRECTORY_VERSION, "table_version": self.version,
            "logical": self.shard_map.logical, "physical": self.shard_map.physical,
            "assignment": list(self.shard_map.assignment),
        }, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str) -> ShardDirectory:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PlacementError(f"shard directory is not JSON: {exc}") from None
        if not isinstance(document, dict) or document.get("format") != DIRECTORY_FORMAT:
            raise PlacementError(f"not a shard directory (expected format {DIRECTORY_FORMAT!r})")
        if document.get("version") != DIRECTORY_VERSION:
            raise PlacementError(f"shard directory format version {document.get('version')!r}"
                                 f" is not supported (this roost reads {DIRECTORY_VERSION})")
        logical, physical = document.get("logical"), document.get("physical")
        assignment, table_version = document.get("assignment"), document.get("table_version")
        if not (isinstance(logical, int) and isinstance(physical, int)
                and isinstance(table_version, int) and isinstance(assignment, list)
                and all(_is_int(v) for v in (logical, physical, table_version, *assignment))):
            raise PlacementError("shard directory needs integer logical, physical and table_version"
                                 " and a list of integers as assignment")
        if len(assignment) != logical:
            raise PlacementError(f"shard directory names {len(assignment)} logical shards, not {logical}")
        if any(not 0 <= p < physical for p in assignment):
            raise PlacementError(f"shard directory assigns a physical node outside 0..{physical - 1}")
        if table_version < 1:
            raise PlacementError("shard directory table_version must be at least 1")
        return cls(_checked_map(logical, physical, tuple(assignment)), table_version)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checked_map(logical: int, physical: int, assignment: tuple[int, ...]) -> ShardMap:
    try:
        return ShardMap(logical, physical, assignment)
    except ValueError as exc:
        raise PlacementError(str(exc)) from None


@dataclass(frozen=True)
class DirectoryPlacement:
    """New accounts by hash (as the default placement); logical -> physical by the directory's
    table, so a logical shard can be moved to another node without changing any id."""

    directory: ShardDirectory
    name: str = field(default="directory", init=False)

    @property
    def shard_map(self) -> ShardMap:
        return self.directory.shard_map

    def logical_for(self, account: PlacementRequest) -> int:
        return self.directory.shard_map.logical_for_key(account.key)


# --- configuration --------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementConfig:
    """The placement settings as written (ROOST_PLACEMENT and ROOST_PLACEMENT_*)."""

    kind: str = "hash"
    # range: comma-separated lower bounds of every range after the first ("h,p").
    ranges: str = ""
    range_by: str = "username"
    # geo: region:shards, ... where shards are numbers and a-b spans ("eu:0-511,us:512-1023").
    regions: str = ""
    default_region: str = ""


def build_placement(config: PlacementConfig, logical: int, physical: int,
                    directory: ShardDirectory | None = None) -> Placement:
    """The placement ``config`` names, over ``logical`` shards on ``physical`` nodes.

    ``directory`` is the saved table (directory placement only; None: a fresh one)."""
    kind = config.kind.strip().lower()
    if kind not in PLACEMENTS:
        raise PlacementError(f"placement must be one of {', '.join(PLACEMENTS)}, not {config.kind!r}")
    if kind == "directory":
        table = directory or ShardDirectory.initial(logical, physical)
        if (table.shard_map.logical, table.shard_map.physical) != (logical, physical):
            raise PlacementError(
                f"the shard directory is for {table.shard_map.logical} logical shards on"
                f" {table.shard_map.physical} nodes, but roost runs {logical} on {physical}")
        return DirectoryPlacement(table)
    shard_map = _checked_map(logical, physical, ())
    if kind == "hash":
        return HashPlacement(shard_map)
    if kind == "range":
        return _range_placement(config, shard_map)
    return GeoPlacement(shard_map, parse_regions(config.regions, logical),
                        config.default_region.strip() or _first_region(config.regions))


def _range_placement(config: PlacementConfig, shard_map: ShardMap) -> RangePlacement:
    by = config.range_by.strip().lower()
    if by not in RANGE_KEYS:
        raise PlacementError(f"placement_range_by must be one of {', '.join(RANGE_KEYS)}, not {config.range_by!r}")
    raw = [b.strip() for b in config.ranges.split(",") if b.strip()]
    if not raw:
        raise PlacementError("range placement needs placement_ranges: the lower bounds of every"
                             " range after the first, ascending (e.g. 'h,p')")
    if by == "username":
        return RangePlacement(shard_map, tuple(b.lower() for b in raw), "username")
    try:
        numbers = tuple(int(b) for b in raw)
    except ValueError:
        raise PlacementError(f"range bounds by key must be integers: {config.ranges!r}") from None
    return RangePlacement(shard_map, numbers, "key")


def _first_region(text: str) -> str:
    return text.split(",", 1)[0].split(":", 1)[0].strip()


def parse_regions(text: str, logical: int) -> dict[str, tuple[int, ...]]:
    """``"eu:0-511,us:512-1023"`` (a region may repeat to add spans: ``"eu:0-9,eu:20"``)."""
    regions: dict[str, list[int]] = {}
    for part in (p.strip() for p in text.split(",") if p.strip()):
        region, sep, spans = part.partition(":")
        region = region.strip()
        if not sep or not region or not spans.strip():
            raise PlacementError(f"placement_regions entry {part!r} is not region:shards (e.g. 'eu:0-511')")
        regions.setdefault(region, []).extend(_span(spans.strip(), region, logical))
    if not regions:
        raise PlacementError("geo placement needs placement_regions (e.g. 'eu:0-511,us:512-1023')")
    return {region: tuple(sorted(set(shards))) for region, shards in regions.items()}


def _span(text: str, region: str, logical: int) -> Iterable[int]:
    low, dash, high = text.partition("-")
    try:
        first, last = int(low), int(high) if dash else int(low)
    except ValueError:
        raise PlacementError(f"region {region!r}: {text!r} is not a shard number or a-b span") from None
    if not 0 <= first <= last < logical:
        raise PlacementError(f"region {region!r}: span {text!r} must lie within 0..{logical - 1}, low to high")
    return range(first, last + 1)

