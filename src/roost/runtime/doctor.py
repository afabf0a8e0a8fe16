"""``roost doctor``: check a data directory and report every check on its own line.

Read-only: it opens only files that exist and writes nothing, so it can run
beside a live server (SQLite's WAL lets it read while the server writes).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from roost.adapters.embedded.manifest import (
    MANIFEST,
    REBUILT,
    DataFile,
    Manifest,
    check_file,
    open_existing,
    read_manifest,
)
from roost.adapters.embedded.readiness import free_disk_bytes, human_bytes
from roost.errors import StorageIntegrityError
from roost.settings import Settings

# A WAL this large means checkpoints are not keeping up (SQLite's automatic one
# starts at 1,000 pages, ~4 MiB): a long reader holds them back, or the disk is slow.
WAL_WARN_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class Check:
    ok: bool
    name: str
    detail: str

    def line(self) -> str:
        return f"{'ok  ' if self.ok else 'FAIL'}  {self.name}: {self.detail}"


def run(settings: Settings, full: bool = False) -> list[Check]:
    return list(_checks(settings, full))


def _checks(settings: Settings, full: bool) -> Iterator[Check]:
    data_dir = settings.data_dir
    if not data_dir.is_dir():
        yield Check(False, "data directory", f"{data_dir} does not exist")
        return
    try:
        manifest = read_manifest(data_dir)
    except StorageIntegrityError as exc:
        yield Check(False, MANIFEST, str(exc))
        return
    if manifest is None:
        yield Check(False, MANIFEST, f"{data_dir / MANIFEST} is missing (roost up writes it at its next start)")
        return
    yield Check(True, MANIFEST, f"installation {manifest.installation_id}, created {manifest.created_at},"
                f" {manifest.physical_shards} physical / {manifest.logical_shards} logical shards")
    same = (manifest.physical_shards, manifest.logical_shards) == (settings.physical_shards, settings.logical_shards)
    yield Check(same, "shard settings",
                f"ROOST_PHYSICAL_SHARDS={settings.physical_shards} ROOST_LOGICAL_SHARDS={settings.logical_shards}"
                + ("" if same else " differ from the manifest: roost would refuse to start"))
    expected = _expected_schema()
    for file in manifest.files:
        yield from _file_checks(data_dir, manifest, file, full, expected)
    try:
        free = free_disk_bytes(data_dir)
    except OSError as exc:
        yield Check(False, "disk", str(exc))
    else:
        yield Check(free >= settings.min_free_disk_bytes, "disk",
                    f"{human_bytes(free)} free (min_free_disk_bytes {human_bytes(settings.min_free_disk_bytes)})")


def _file_checks(
    data_dir: Path, manifest: Manifest, file: DataFile, full: bool, expected: dict[str, int],
) -> Iterator[Check]:
    path = data_dir / file.path
    if file.derived and not path.exists():
        # Not damage: roost recreates it at the next start.
        yield Check(True, file.path, REBUILT.replace("recreated empty", "recreated empty at the next start"))
        return
    problem = check_file(data_dir, file, manifest.installation_id, full)
    check = "integrity_check" if full else "quick_check"
    if problem is not None:
        yield Check(False, file.path, problem)
        return
    yield Check(True, file.path, f"present, {human_bytes(path.stat().st_size)}, identity {file.describe()}, {check} ok")
    wal = path.with_name(path.name + "-wal")
    wal_size = wal.stat().st_size if wal.exists() else 0
    yield Check(wal_size < WAL_WARN_BYTES, f"{file.path} WAL", human_bytes(wal_size))
    if file.role == "shard":
        yield _schema_check(path, file, expected)


def _expected_schema() -> dict[str, int]:
    from roost.runtime.backends import MIGRATIONS

    latest: dict[str, int] = {}
    for m in MIGRATIONS:
        latest[m.component] = max(latest.get(m.component, 0), m.version)
    return latest


def _schema_check(path: Path, file: DataFile, expected: dict[str, int]) -> Check:
    name = f"{file.path} schema"
    conn = open_existing(path)
    try:
        rows = conn.execute("SELECT component, MAX(version) FROM schema_migrations GROUP BY component").fetchall()
    except sqlite3.Error as exc:
        return Check(False, name, f"no schema_migrations ({exc}): never started?")
    finally:
        conn.close()
    found = {str(r[0]): int(r[1]) for r in rows}
    behind = [f"{c} {found.get(c, 0)}<{v}" for c, v in sorted(expected.items()) if found.get(c, 0) < v]
    ahead = [f"{c} {v}>{expected.get(c, 0)}" for c, v in sorted(found.items()) if v > expected.get(c, 0)]
    if ahead:
        return Check(False, name, "newer than this roost: " + ", ".join(ahead))
    versions = ", ".join(f"{c} {v}" for c, v in sorted(found.items()))
    if behind:
        # Not a failure: the next start applies them.
        return Check(True, name, f"{versions}; pending migrations: {', '.join(behind)}")
    return Check(True, name, versions)
