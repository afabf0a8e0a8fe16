"""Shard-file faults against the real `roost up` and `roost doctor`, as an operator meets them:
a data directory with a missing, swapped, foreign, corrupt or non-database file, or a
changed shard count, is refused with one line naming the file and a non-zero exit."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from e2e_support import ROOST, RoostServer, free_port, register

pytestmark = pytest.mark.e2e


def roost(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    child_env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    child_env.update(env or {})
    return subprocess.run([*ROOST, *args], capture_output=True, text=True, timeout=timeout, env=child_env,
                          stdin=subprocess.DEVNULL)


def swap(a: Path, b: Path) -> None:
    tmp = a.with_name("swap.tmp")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)


def corrupt_page(path: Path, page: int = 2) -> None:
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(b"\xff" * 64)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory a real server made and stopped cleanly, holding one account."""
    base = tmp_path_factory.mktemp("pristine")
    server = RoostServer(base / "data", log_dir=base / "logs").start()
    try:
        register(server.url, "garnet")
    finally:
        assert server.stop() == 0
    return base / "data"


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Another installation's data directory."""
    data = tmp_path_factory.mktemp("stranger") / "data"
    assert roost("accounts", "list", "--data-dir", str(data)).returncode == 0
    return data


FAULTS: dict[str, tuple[Callable[[Path, Path], None], str, str]] = {
    # name: (damage(data, stranger), file named in the line, what the line says)
    "missing shard": (lambda d, s: (d / "shards/shard-01.sqlite3").unlink(),
                      "shards/shard-01.sqlite3", "missing (shard 1)"),
    "missing log": (lambda d, s: (d / "log.sqlite3").unlink(), "log.sqlite3", "missing (the log store)"),
    "swapped shards": (lambda d, s: swap(d / "shards/shard-00.sqlite3", d / "shards/shard-03.sqlite3"),
                       "shards/shard-00.sqlite3", "wrong file: it is shard 3's file, expected shard 0"),
    "foreign shard": (lambda d, s: shutil.copy(s / "shards/shard-02.sqlite3", d / "shards/shard-02.sqlite3"),
                      "shards/shard-02.sqlite3", "foreign: belongs to installation"),
    "corrupt page": (lambda d, s: corrupt_page(d / "shards/shard-01.sqlite3"),
                     "shards/shard-01.sqlite3", "corrupt:"),
    "not a database": (lambda d, s: (d / "timelines.sqlite3").write_bytes(b"\0garbage" * 1000),
                       "timelines.sqlite3", "not an SQLite database"),
}


@pytest.mark.parametrize("fault", list(FAULTS))
def test_roost_up_refuses_a_damaged_data_dir_with_one_line(
    fault: str, pristine: Path, stranger: Path, tmp_path: Path,
) -> None:
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    damage, name, says = FAULTS[fault]
    damage(data, stranger)
    before = sorted(p.name for p in data.rglob("*"))

    up = roost("up", "--port", str(free_port()), "--data-dir", str(data))
    assert up.returncode == 2, (up.stdout, up.stderr)
    lines = up.stderr.strip().splitlines()
    assert len(lines) == 1, up.stderr
    assert lines[0].startswith(f"roost: refusing to start: {data / name}: {says}"), lines[0]
    assert "serving" not in up.stdout
    assert sorted(p.name for p in data.rglob("*")) == before  # nothing recreated or stamped

    doctor = roost("doctor", "--data-dir", str(data))
    assert doctor.returncode == 1, doctor.stdout
    assert any(line.startswith(f"FAIL  {name}: ") for line in doctor.stdout.splitlines()), doctor.stdout


def test_roost_up_refuses_a_changed_shard_count(pristine: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    up = roost("up", "--port", str(free_port()), "--data-dir", str(data), env={"ROOST_PHYSICAL_SHARDS": "8"})
    assert up.returncode == 2
    assert up.stderr.strip().splitlines() == [
        f"roost: refusing to start: {data}/manifest.json: this data directory has 4 physical and 1024"
        " logical shards, but ROOST_PHYSICAL_SHARDS=8 ROOST_LOGICAL_SHARDS=1024: changing them would"
        " re-route every id"
    ]


def test_the_admin_cli_refuses_too(pristine: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    (data / "shards/shard-01.sqlite3").unlink()
    create = roost("accounts", "create", "garnet", "--email", "g@example.test", "--data-dir", str(data))
    assert create.returncode == 2
    assert create.stderr.strip().splitlines() == [
        f"roost: refusing to open the data directory: {data}/shards/shard-01.sqlite3: missing (shard 1)"
    ]


def test_doctor_on_a_healthy_data_dir(pristine: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    doctor = roost("doctor", "--data-dir", str(data), "--full")
    assert doctor.returncode == 0, doctor.stdout
    lines = doctor.stdout.strip().splitlines()
    assert all(line.startswith("ok    ") for line in lines[:-1]), doctor.stdout
    names = [line[6:].split(":", 1)[0] for line in lines[:-1]]
    for shard in range(4):
        path = f"shards/shard-{shard:02d}.sqlite3"
        assert {path, f"{path} WAL", f"{path} schema"} <= set(names)
    assert {"manifest.json", "shard settings", "log.sqlite3", "timelines.sqlite3", "disk"} <= set(names)
    assert "integrity_check ok" in doctor.stdout
    assert lines[-1] == f"{len(lines) - 1} ok, 0 failed"


def test_the_server_alone_reports_a_refusal_in_one_line(pristine: Path, tmp_path: Path) -> None:
    """The storage module's own check, behind the CLI's: an ASGI server started without
    `roost up` (here uvicorn) logs one roost line and exits non-zero, no traceback."""
    data = tmp_path / "data"
    shutil.copytree(pristine, data)
    (data / "shards/shard-02.sqlite3").unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}
    env["ROOST_DATA_DIR"] = str(data)
    server = subprocess.run(
        [sys.executable, "-m", "uvicorn", "--factory", "roost.runtime.asgi:create_app",
         "--port", str(free_port())],
        capture_output=True, text=True, timeout=60, env=env, stdin=subprocess.DEVNULL,
    )
    assert server.returncode != 0
    assert f"roost: refusing to start: {data}/shards/shard-02.sqlite3: missing (shard 2)" in server.stderr
    assert "Traceback" not in server.stderr, server.stderr
