"""The sharding placement the settings choose (``ROOST_PLACEMENT``), and the directory placement's
table file.

The directory table lives in ``shard-directory.json`` in the data directory unless
``ROOST_PLACEMENT_DIRECTORY`` names another file (e.g. one beside the cluster config, shared by
every roost process of a cluster). It is written once with the default contiguous blocks when
the directory placement first starts, and afterwards only by a move (``save_directory``).
"""

from __future__ import annotations

import os
from pathlib import Path

from roost.domain.placements import (
    Placement,
    PlacementConfig,
    PlacementError,
    ShardDirectory,
    build_placement,
)
from roost.errors import StorageIntegrityError
from roost.settings import Settings

DIRECTORY_FILE = "shard-directory.json"


def directory_path(settings: Settings) -> Path:
    return Path(settings.placement_directory) if settings.placement_directory else settings.data_dir / DIRECTORY_FILE


def placement_config(settings: Settings) -> PlacementConfig:
    return PlacementConfig(
        kind=settings.placement, ranges=settings.placement_ranges, range_by=settings.placement_range_by,
        regions=settings.placement_regions, default_region=settings.placement_default_region)


def open_placement(settings: Settings) -> Placement:
    """The configured placement; the directory table is read from its file, or made on first use.

    A bad setting or table refuses the start (StorageIntegrityError, which ``roost up`` prints as
    one line): placing accounts by a half-understood config would scatter them for good."""
    config = placement_config(settings)
    try:
        if config.kind.strip().lower() != "directory":
            return build_placement(config, settings.logical_shards, settings.physical_shards)
        path = directory_path(settings)
        try:
            table = ShardDirectory.from_json(path.read_text())
        except FileNotFoundError:
            table = ShardDirectory.initial(settings.logical_shards, settings.physical_shards)
            save_directory(path, table)
        except PlacementError as exc:
            raise PlacementError(f"{path}: {exc}") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PlacementError(f"{path}: unreadable ({exc})") from None
        return build_placement(config, settings.logical_shards, settings.physical_shards, table)
    except PlacementError as exc:
        raise StorageIntegrityError(f"sharding placement: {exc}") from None


def save_directory(path: Path, table: ShardDirectory) -> None:
    """Replace the table file whole: readers see the old table or the new one, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "w") as handle:
        handle.write(table.to_json())
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
