"""The data directory's manifest and file identities: every way a file can be wrong is
refused with one line naming it; a fresh directory is set up; an old one is adopted.

Real SQLite files in temporary directories, made by the real start-up path."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from roost.adapters.embedded.manifest import APPLICATION_ID, MANIFEST, open_data_dir
from roost.errors import StorageIntegrityError
from roost.runtime.backends import close, open_embedded
from roost.settings import Settings

LOGICAL, PHYSICAL = 64, 4


def make_data_dir(path: Path, physical: int = PHYSICAL) -> Path:
    """A data directory as the first start leaves it, with a row in every shard."""
    backends = open_embedded(Settings(data_dir=path, logical_shards=LOGICAL, physical_shards=physical))
    for shard in backends.db.shards:  # type: ignore[attr-defined]
        conn = shard._conn_
        conn.execute("BEGIN")
        conn.execute("CREATE TABLE things (id INTEGER PRIMARY KEY, what TEXT)")
        conn.executemany("INSERT INTO things (what) VALUES (?)", [("x" * 200,)] * 2000)
        conn.execute("COMMIT")
    asyncio.run(close(backends))
    return path


def refusal(path: Path, physical: int = PHYSICAL) -> str:
    with pytest.raises(StorageIntegrityError) as caught:
        open_data_dir(path, LOGICAL, physical)
    message = str(caught.value)
    assert "\n" not in message
    return message


def test_a_fresh_directory_is_set_up_with_a_manifest_and_stamped_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert open_data_dir(data, LOGICAL, PHYSICAL) == "created"
    manifest = json.loads((data / MANIFEST).read_text())
    assert manifest["physical_shards"] == PHYSICAL and manifest["logical_shards"] == LOGICAL
    assert [f["path"] for f in manifest["files"]] == [
        "shards/shard-00.sqlite3", "shards/shard-01.sqlite3", "shards/shard-02.sqlite3",
        "shards/shard-03.sqlite3", "log.sqlite3", "timelines.sqlite3",
    ]
    conn = sqlite3.connect(data / "shards" / "shard-02.sqlite3")
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("SELECT installation_id, role, shard_index FROM roost_identity").fetchall() == [
        (manifest["installation_id"], "shard", 2)
    ]
    assert open_data_dir(data, LOGICAL, PHYSICAL) == "verified"


def test_a_missing_shard_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    (data / "shards" / "shard-01.sqlite3").unlink()
    message = refusal(data)
    assert message.startswith(f"{data}/shards/shard-01.sqlite3: missing")
    assert not (data / "shards" / "shard-01.sqlite3").exists()  # not silently recreated


def test_a_missing_log_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    (data / "log.sqlite3").unlink()
    assert refusal(data) == f"{data}/log.sqlite3: missing (the log store)"


def test_a_missing_timeline_store_is_recreated_since_homes_rebuild_from_the_shards(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    data = make_data_dir(tmp_path / "data")
    (data / "timelines.sqlite3").unlink()
    assert open_data_dir(data, LOGICAL, PHYSICAL) == "verified"
    assert [r.getMessage() for r in caplog.records] == [
        f"{data}/timelines.sqlite3: missing: recreated empty; home timelines are rebuilt from the shards"
        " as they are read"
    ]
    assert open_data_dir(data, LOGICAL, PHYSICAL) == "verified"  # and stamped as this installation's


def test_a_damaged_timeline_store_is_refused_with_a_hint(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    (data / "timelines.sqlite3").write_bytes(b"\0" * 8192)
    assert refusal(data) == (
        f"{data}/timelines.sqlite3: not an SQLite database (delete it to have it rebuilt from the shards)"
    )


def test_a_shard_from_another_installation_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    other = make_data_dir(tmp_path / "other")
    shutil.copy(other / "shards" / "shard-03.sqlite3", data / "shards" / "shard-03.sqlite3")
    theirs = json.loads((other / MANIFEST).read_text())["installation_id"]
    message = refusal(data)
    assert message.startswith(f"{data}/shards/shard-03.sqlite3: foreign: belongs to installation {theirs}")


def test_swapped_shards_are_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    a, b = data / "shards" / "shard-00.sqlite3", data / "shards" / "shard-02.sqlite3"
    a.rename(tmp_path / "tmp")
    b.rename(a)
    (tmp_path / "tmp").rename(b)
    message = refusal(data)
    assert message == (f"{a}: wrong file: it is shard 2's file, expected shard 0 (files swapped or renamed?)")


def test_a_corrupted_page_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    path = data / "shards" / "shard-01.sqlite3"
    size = path.stat().st_size
    assert size > 200_000  # the rows are in the file itself (checkpointed at close)
    with open(path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)  # a page in the middle: its b-tree header
        f.write(b"\xff" * 64)
    message = refusal(data)
    assert message.startswith(f"{path}: corrupt:")


def test_a_file_that_is_not_a_database_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    (data / "log.sqlite3").write_bytes(b"this is not a database, it is a note\n" * 200)
    assert refusal(data) == f"{data}/log.sqlite3: not an SQLite database"


def test_changing_the_number_of_physical_shards_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    message = refusal(data, physical=8)
    assert message.startswith(f"{data}/{MANIFEST}: this data directory has 4 physical and 64 logical shards")
    assert "ROOST_PHYSICAL_SHARDS=8" in message and "re-route every id" in message
    assert not (data / "shards" / "shard-04.sqlite3").exists()


def test_an_unreadable_manifest_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    (data / MANIFEST).write_text("{ not json")
    assert refusal(data).startswith(f"{data}/{MANIFEST}: unreadable manifest")


def strip_to_old_format(data: Path) -> None:
    """What a data directory from before manifests looks like: same files, no stamps."""
    (data / MANIFEST).unlink()
    for path in [*sorted((data / "shards").glob("*.sqlite3")), data / "log.sqlite3", data / "timelines.sqlite3"]:
        conn = sqlite3.connect(path)
        conn.execute("DROP TABLE roost_identity")
        conn.execute("PRAGMA application_id=0")
        conn.commit()
        conn.close()


def test_an_old_data_directory_is_adopted_with_its_data(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = make_data_dir(tmp_path / "data")
    strip_to_old_format(data)
    caplog.set_level("INFO", logger="roost.storage")
    assert open_data_dir(data, LOGICAL, PHYSICAL) == "adopted"
    assert [r.message for r in caplog.records if "adopted" in r.message] == [
        f"adopted {data}: stamped 6 files with installation "
        f"{json.loads((data / MANIFEST).read_text())['installation_id']} and wrote {MANIFEST}"
    ]
    conn = sqlite3.connect(data / "shards" / "shard-03.sqlite3")
    assert conn.execute("SELECT COUNT(*) FROM things").fetchone()[0] == 2000
    assert open_data_dir(data, LOGICAL, PHYSICAL) == "verified"


def test_an_old_data_directory_with_a_shard_missing_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data")
    strip_to_old_format(data)
    (data / "shards" / "shard-02.sqlite3").unlink()
    assert refusal(data).startswith(f"{data}/shards/shard-02.sqlite3: missing")
    assert not (data / MANIFEST).exists()


def test_an_old_data_directory_with_more_shards_is_refused(tmp_path: Path) -> None:
    data = make_data_dir(tmp_path / "data", physical=8)
    strip_to_old_format(data)
    message = refusal(data, physical=4)
    assert message.startswith(f"{data}/shards/shard-04.sqlite3: not expected with ROOST_PHYSICAL_SHARDS=4")


def test_open_embedded_refuses_before_opening_anything(tmp_path: Path) -> None:
    """The storage module's own check (the safety net behind the CLI's)."""
    data = make_data_dir(tmp_path / "data")
    (data / "shards" / "shard-00.sqlite3").unlink()
    with pytest.raises(StorageIntegrityError):
        open_embedded(Settings(data_dir=data, logical_shards=LOGICAL, physical_shards=PHYSICAL))
    assert not (data / "shards" / "shard-00.sqlite3").exists()
