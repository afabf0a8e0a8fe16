"""The data directory's manifest, and the identity stamped inside each of its files.

SQLite creates a missing file without a word, so a deleted shard used to come back
empty: accounts vanished and their usernames were free to register again. Now
``manifest.json`` lists every file the data directory must hold (the shards, the
log and the timeline store) under an installation id made at the first start, and
each file carries ``PRAGMA application_id`` and a ``roost_identity`` row saying
which installation and which file it is. At start every listed file must be
present, a database, pass ``PRAGMA quick_check`` and carry the right identity, or
roost refuses to start with one line naming the file.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from roost.adapters.embedded.database import connect, shard_file_name
from roost.errors import StorageIntegrityError

logger = logging.getLogger("roost.storage")

MANIFEST = "manifest.json"
FORMAT = 1
# "ROST" in the SQLite header (offset 68), so `file` and other tools can tell a roost file.
APPLICATION_ID = 0x524F5354
SHARDS_DIR = "shards"
LOG_FILE = "log.sqlite3"
TIMELINES_FILE = "timelines.sqlite3"

_IDENTITY_TABLE = (
    "CREATE TABLE IF NOT EXISTS roost_identity ("
    " installation_id TEXT NOT NULL, role TEXT NOT NULL, shard_index INTEGER NOT NULL)"
)


@dataclass(frozen=True)
class DataFile:
    path: str  # relative to the data directory
    role: str  # "shard", "log" or "timelines"
    index: int = 0  # the physical shard's index (0 for the others)

    def describe(self) -> str:
        return f"shard {self.index}" if self.role == "shard" else f"the {self.role} store"

    @property
    def derived(self) -> bool:
        """Rebuilt from the shards when lost: the home timelines (a timeline that was never
        built is rebuilt from its followees' statuses on first read)."""
        return self.role == "timelines"


def expected_files(physical_shards: int) -> list[DataFile]:
    shards = [DataFile(f"{SHARDS_DIR}/{shard_file_name(i)}", "shard", i) for i in range(physical_shards)]
    return [*shards, DataFile(LOG_FILE, "log"), DataFile(TIMELINES_FILE, "timelines")]


@dataclass(frozen=True)
class Manifest:
    installation_id: str
    created_at: str
    logical_shards: int
    physical_shards: int
    files: tuple[DataFile, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "installation_id": self.installation_id,
            "created_at": self.created_at,
            "logical_shards": self.logical_shards,
            "physical_shards": self.physical_shards,
            "files": [{"path": f.path, "role": f.role, "index": f.index} for f in self.files],
        }


def read_manifest(data_dir: Path) -> Manifest | None:
    path = data_dir / MANIFEST
    if not path.exists():
        return None
    try:
        raw = json.loads(path.read_text())
        if raw.get("format") != FORMAT:
            raise ValueError(f"unknown format {raw.get('format')!r}")
        return Manifest(
            installation_id=str(raw["installation_id"]),
            created_at=str(raw["created_at"]),
            logical_shards=int(raw["logical_shards"]),
            physical_shards=int(raw["physical_shards"]),
            files=tuple(DataFile(str(f["path"]), str(f["role"]), int(f["index"])) for f in raw["files"]),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise StorageIntegrityError(f"{path}: unreadable manifest ({exc})") from exc


def write_manifest(data_dir: Path, manifest: Manifest) -> None:
    # Written whole to a temporary file, synced, then renamed over: a crash leaves
    # the old manifest or the new one, never half of one.
    path = data_dir / MANIFEST
    tmp = path.with_suffix(".json.tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(manifest.to_json(), indent=2) + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(data_dir, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


@dataclass(frozen=True)
class Identity:
    application_id: int
    installation_id: str | None
    role: str | None
    index: int | None


def open_existing(path: Path) -> sqlite3.Connection:
    """Open a file that must already exist (SQLite would create a missing one)."""
    conn = sqlite3.connect(f"file:{path}?mode=rw", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


def read_identity(conn: sqlite3.Connection) -> Identity:
    app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'roost_identity'"
    ).fetchone()
    row = conn.execute("SELECT installation_id, role, shard_index FROM roost_identity").fetchone() if has_table else None
    if row is None:
        return Identity(app_id, None, None, None)
    return Identity(app_id, str(row[0]), str(row[1]), int(row[2]))


def stamp(conn: sqlite3.Connection, installation_id: str, file: DataFile) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(_IDENTITY_TABLE)
        conn.execute("DELETE FROM roost_identity")
        conn.execute(
            "INSERT INTO roost_identity (installation_id, role, shard_index) VALUES (?, ?, ?)",
            (installation_id, file.role, file.index),
        )
        conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def quick_check(conn: sqlite3.Connection, full: bool = False) -> list[str]:
    """SQLite's own consistency check: ['ok'] or the problems it found (first 5)."""
    pragma = "integrity_check(5)" if full else "quick_check(5)"
    return [str(r[0]) for r in conn.execute(f"PRAGMA {pragma}")]


def identity_problem(identity: Identity, installation_id: str, file: DataFile) -> str | None:
    if identity.application_id != APPLICATION_ID or identity.installation_id is None:
        return "foreign: not a roost data file (no roost identity stamped in it)"
    if identity.installation_id != installation_id:
        return (f"foreign: belongs to installation {identity.installation_id},"
                f" this data directory is {installation_id}")
    if identity.role != file.role or identity.index != file.index:
        found = DataFile("", identity.role or "?", identity.index or 0).describe()
        return f"wrong file: it is {found}'s file, expected {file.describe()} (files swapped or renamed?)"
    return None


def check_file(data_dir: Path, file: DataFile, installation_id: str | None, full: bool = False) -> str | None:
    """What is wrong with one file (None: nothing). ``installation_id`` None skips identity."""
    path = data_dir / file.path
    if not path.exists():
        return f"missing ({file.describe()})"
    if not path.is_file():
        return "not a regular file"
    try:
        conn = open_existing(path)
    except sqlite3.Error as exc:
        return f"cannot open: {exc}"
    try:
        problems = quick_check(conn, full)
        if problems != ["ok"]:
            return "corrupt: " + "; ".join(problems)
        if installation_id is not None:
            return identity_problem(read_identity(conn), installation_id, file)
        return None
    except sqlite3.DatabaseError as exc:
        if "not a database" in str(exc):
            return "not an SQLite database"
        return f"corrupt: {exc}"
    finally:
        conn.close()


REBUILT = "missing: recreated empty; home timelines are rebuilt from the shards as they are read"


def _problems(data_dir: Path, manifest: Manifest) -> Iterator[str]:
    for file in manifest.files:
        if file.derived and not (data_dir / file.path).exists():
            _create(data_dir, file, manifest.installation_id)
            logger.warning("%s: %s", data_dir / file.path, REBUILT)
            continue
        problem = check_file(data_dir, file, manifest.installation_id)
        if problem is not None:
            hint = " (delete it to have it rebuilt from the shards)" if file.derived else ""
            yield f"{data_dir / file.path}: {problem}{hint}"


def _create(data_dir: Path, file: DataFile, installation_id: str) -> None:
    conn = connect(data_dir / file.path)
    try:
        stamp(conn, installation_id, file)
    finally:
        conn.close()


def _stray_shards(data_dir: Path, expected: list[DataFile]) -> list[Path]:
    known = {data_dir / f.path for f in expected}
    return sorted(p for p in (data_dir / SHARDS_DIR).glob("shard-*.sqlite3") if p not in known)


def open_data_dir(data_dir: Path, logical_shards: int, physical_shards: int) -> str:
    """Verify the data directory against its manifest, or set one up; returns what was
    done ("verified", "created" or "adopted"). Raises StorageIntegrityError (one line,
    naming the file) when roost must not start on it."""
    manifest = read_manifest(data_dir)
    if manifest is not None:
        if (manifest.physical_shards, manifest.logical_shards) != (physical_shards, logical_shards):
            raise StorageIntegrityError(
                f"{data_dir / MANIFEST}: this data directory has {manifest.physical_shards} physical and"
                f" {manifest.logical_shards} logical shards, but ROOST_PHYSICAL_SHARDS={physical_shards}"
                f" ROOST_LOGICAL_SHARDS={logical_shards}: changing them would re-route every id"
            )
        for problem in _problems(data_dir, manifest):
            raise StorageIntegrityError(problem)
        return "verified"
    expected = expected_files(physical_shards)
    present = [f for f in expected if (data_dir / f.path).exists()]
    stray = _stray_shards(data_dir, expected)
    if stray:
        raise StorageIntegrityError(
            f"{stray[0]}: not expected with ROOST_PHYSICAL_SHARDS={physical_shards} and there is no"
            f" {MANIFEST}: was this data directory made with more shards?"
        )
    if present and any(f not in present and not f.derived for f in expected):
        missing = next(f for f in expected if f not in present and not f.derived)
        raise StorageIntegrityError(
            f"{data_dir / missing.path}: missing ({missing.describe()}) from a data directory that has"
            f" other roost files and no {MANIFEST}"
        )
    adopting = bool(present)
    installation_id = _adoptable_id(data_dir, expected) if adopting else uuid.uuid4().hex
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / SHARDS_DIR).mkdir(exist_ok=True)
    for file in expected:
        _create(data_dir, file, installation_id)
    write_manifest(data_dir, Manifest(
        installation_id=installation_id,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        logical_shards=logical_shards,
        physical_shards=physical_shards,
        files=tuple(expected),
    ))
    if adopting:
        logger.info(
            "adopted %s: stamped %d files with installation %s and wrote %s",
            data_dir, len(expected), installation_id, MANIFEST,
        )
        return "adopted"
    return "created"


def _adoptable_id(data_dir: Path, expected: list[DataFile]) -> str:
    """The installation id for a data directory from before manifests.

    Each file must be sound. Files already stamped (a first start that stopped
    between stamping and writing the manifest) must agree with each other and with
    their place; unstamped ones get a new id.
    """
    ids: set[str] = set()
    for file in expected:
        if file.derived and not (data_dir / file.path).exists():
            continue
        problem = check_file(data_dir, file, None)
        if problem is not None:
            raise StorageIntegrityError(f"{data_dir / file.path}: {problem}")
        conn = open_existing(data_dir / file.path)
        try:
            identity = read_identity(conn)
        finally:
            conn.close()
        if identity.installation_id is not None:
            wrong = identity_problem(identity, identity.installation_id, file)
            if wrong is not None:
                raise StorageIntegrityError(f"{data_dir / file.path}: {wrong}")
            ids.add(identity.installation_id)
    if len(ids) > 1:
        raise StorageIntegrityError(
            f"{data_dir}: its files are stamped with different installations ({', '.join(sorted(ids))})"
        )
    return ids.pop() if ids else uuid.uuid4().hex
