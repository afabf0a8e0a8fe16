"""Storage faults seen from the API: /ready says not ready when a file cannot be written
or the disk is low, and a write that hits a fault answers 507/503 in Mastodon's shape
(never a 500) and leaves nothing of itself behind.

Every fault here is SQLite's own: a connection opened read-only (``mode=ro``, what
SQLite does with a file it may not write; chmod would not do, since root ignores file
permissions), ``PRAGMA max_page_count`` (SQLite's real "database or disk is full"
path), a real full file system (a small tmpfs, when this process may mount one), and
bytes overwritten in a page of the file on disk."""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Server, User, running_server


def shard_of(server: Server, user: User) -> Any:
    return server.container.backends.db.for_id(int(user.id))


def status_rows(server: Server, user: User) -> dict[str, int]:
    """What one author has on its shard: statuses, idempotency keys, staged events."""
    shard = shard_of(server, user)

    async def count() -> dict[str, int]:
        out = {}
        for table, where in (("statuses", "account_id = ?"), ("idempotency_keys", "account_id = ?"),
                             ("outbox", "key = ?")):
            row = await shard.fetch_one(f"SELECT COUNT(*) AS n FROM {table} WHERE {where}", (int(user.id),))
            out[table] = row["n"]
        return out

    return server.call(count)  # type: ignore[no-any-return]


def post(server: Server, user: User, text: str, key: str) -> Any:
    return server.client.post("/api/v1/statuses", headers={**user.headers, "Idempotency-Key": key},
                              json={"status": text})


def reopen(shard: Any, mode: str) -> None:
    """Swap the shard's connection for one opened with ``mode`` (``ro`` or ``rw``)."""
    from roost.adapters.embedded.database import connect

    shard._conn_.close()
    if mode == "rw":
        conn = connect(shard.path)
    else:
        conn = sqlite3.connect(f"file:{shard.path}?mode=ro", uri=True, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
    shard._conn_ = shard._conn = conn


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[Server]:
    with running_server(tmp_path / "data", ready_cache_seconds=0) as server:
        yield server


def test_ready_reports_every_file_and_the_disk(srv: Server) -> None:
    r = srv.client.get("/ready")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["checks"] == {
        "storage": "ok", "disk": "ok", "log": "ok", "log.sqlite3": "ok", "timelines.sqlite3": "ok",
        **{f"shards/shard-{i:02d}.sqlite3": "ok" for i in range(4)},
    }
    assert body["disk"]["free_bytes"] >= body["disk"]["min_free_bytes"] == 100 * 1024 * 1024


def test_a_read_only_shard_is_not_ready_and_its_writes_answer_503(
    srv: Server, caplog: pytest.LogCaptureFixture,
) -> None:
    user = srv.quick_user("obsidian")
    shard = shard_of(srv, user)
    name = f"shards/{shard.path.name}"
    before = status_rows(srv, user)
    srv.call(reopen, shard, "ro")
    caplog.set_level(logging.INFO)

    ready = srv.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"][name] == "read-only: attempt to write a readonly database"
    assert ready.json()["checks"]["storage"].startswith(f"{name}: read-only")
    for attempt in range(2):
        r = post(srv, user, "written nowhere", f"ro-{attempt}")
        assert r.status_code == 503, r.text
        assert r.json() == {"error": "Storage is unavailable; try again later"}
        assert r.headers["retry-after"] == "30"
    assert status_rows(srv, user) == before
    faults = [r.getMessage() for r in caplog.records if r.name == "roost.storage" and r.levelno >= logging.ERROR]
    assert faults == [f"storage fault on {shard.path.name}: attempt to write a readonly database (read-only)"]
    assert not [r for r in caplog.records if r.exc_info]  # the operator's problem, logged once, no traceback
    assert srv.client.get("/health").status_code == 200

    srv.call(reopen, shard, "rw")
    assert srv.client.get("/ready").status_code == 200
    assert post(srv, user, "written now", "ro-1").status_code == 200
    assert status_rows(srv, user)["statuses"] == before["statuses"] + 1


def test_a_full_shard_answers_507_keeps_nothing_and_a_retry_succeeds(srv: Server) -> None:
    user = srv.quick_user("basalt")
    shard = shard_of(srv, user)
    name = f"shards/{shard.path.name}"
    conn = shard._conn_
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count={pages}")  # the file may not grow: SQLITE_FULL
    text = "a long status to fill pages " * 15
    for attempt in range(200):  # free pages inside the file take the first few
        before = status_rows(srv, user)
        key = f"full-{attempt}-{uuid.uuid4()}"
        r = post(srv, user, text, key)
        if r.status_code != 200:
            break
    assert r.status_code == 507, r.text
    assert r.json() == {"error": "The server is out of storage space; try again later"}
    assert r.headers["retry-after"] == "60"
    assert status_rows(srv, user) == before  # no status, no idempotency row, no staged event
    ready = srv.client.get("/ready")
    assert ready.status_code == 503
    assert ready.json()["checks"][name] == "full: database or disk is full"

    conn.execute("PRAGMA max_page_count=1073741823")  # space freed
    assert srv.client.get("/ready").status_code == 200
    again = post(srv, user, text, key)
    assert again.status_code == 200, again.text
    assert post(srv, user, text, key).json()["id"] == again.json()["id"]  # the key still dedupes
    after = status_rows(srv, user)
    assert after["statuses"] == before["statuses"] + 1
    assert after["idempotency_keys"] == before["idempotency_keys"] + 1


@contextlib.contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb") as f, contextlib.suppress(OSError):  # ENOSPC: the disk is full
        while True:
            f.write(b"\0" * 65536)
            f.flush()
            os.fsync(f.fileno())
    return filler


def test_a_really_full_disk_answers_507_and_recovers(tmp_path: Path) -> None:
    with small_tmpfs(tmp_path / "disk", "4m") as disk, running_server(
        disk / "data", ready_cache_seconds=0, min_free_disk_bytes=512 * 1024,
    ) as srv:
        user = srv.quick_user("pumice")
        assert srv.client.get("/ready").status_code == 200
        filler = fill(disk)
        ready = srv.client.get("/ready").json()
        assert ready["checks"]["disk"].startswith("low: ")
        assert ready["disk"]["free_bytes"] < 512 * 1024
        text = "x" * 490
        for attempt in range(500):
            before = status_rows(srv, user)
            key = f"disk-{attempt}"
            r = post(srv, user, text, key)
            if r.status_code != 200:
                break
        assert r.status_code == 507, r.text
        assert r.json() == {"error": "The server is out of storage space; try again later"}
        assert status_rows(srv, user) == before
        assert srv.client.get("/ready").status_code == 503

        filler.unlink()
        assert srv.client.get("/ready").status_code == 200
        retried = post(srv, user, text, key)
        assert retried.status_code == 200
        assert status_rows(srv, user)["statuses"] == before["statuses"] + 1
        # The log consumers lived through the full disk: the retried status is fanned out.
        srv.drain(timeout=20)
        home = srv.get("/api/v1/timelines/home", user, limit=1)
        assert [s["id"] for s in home] == [retried.json()["id"]]


def test_a_page_corrupted_on_disk_makes_writes_503_and_ready_fail(
    srv: Server, caplog: pytest.LogCaptureFixture,
) -> None:
    user = srv.quick_user("scoria")
    for n in range(3):
        assert post(srv, user, f"before the damage {n}", f"c-{n}").status_code == 200
    shard = shard_of(srv, user)
    name = f"shards/{shard.path.name}"

    def damage() -> None:
        conn = shard._conn_
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the pages are in the file itself
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'statuses'").fetchone()[0]
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        with open(shard.path, "r+b") as f:
            f.seek((root - 1) * page_size)
            f.write(b"\xff" * 64)
        # The connection still holds the good copy in its page cache; drop it, as
        # eviction under load would, so the next query reads what is on disk.
        conn.execute("PRAGMA shrink_memory")

    srv.call(damage)
    r = post(srv, user, "after the damage", "c-after")
    assert r.status_code == 503, r.text
    assert r.json() == {"error": "Storage is unavailable; try again later"}
    for _ in range(2):  # the write probe (another table) succeeds, but a damaged file stays not ready
        ready = srv.client.get("/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"][name] == "corrupt: database disk image is malformed"
    assert not [r for r in caplog.records if r.exc_info]


def test_low_disk_space_makes_ready_fail(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", ready_cache_seconds=0, min_free_disk_bytes=2**50) as server:
        r = server.client.get("/ready")
        assert r.status_code == 503
        checks = r.json()["checks"]
        assert checks["disk"].startswith("low: ") and "below min_free_disk_bytes (1048576.0 GiB)" in checks["disk"]
        assert all(v == "ok" for k, v in checks.items() if k not in ("disk", "storage"))


def test_ready_reuses_its_probes_within_the_cache_window(tmp_path: Path) -> None:
    with running_server(tmp_path / "data", ready_cache_seconds=3600) as server:
        shard = server.container.backends.db.shards[0]

        def last_probe() -> int:
            return int(shard._conn_.execute("SELECT checked_at FROM health_probe WHERE id = 1").fetchone()[0])

        assert server.client.get("/ready").status_code == 200
        probed = server.call(last_probe)
        server.call(reopen, shard, "ro")
        for _ in range(5):  # no probe per call: the cached result stands
            assert server.client.get("/ready").status_code == 200
        assert server.call(last_probe) == probed
        server.call(reopen, shard, "rw")


def test_fanout_outlives_a_full_timeline_store(srv: Server) -> None:
    """The fanout consumer's group commit hits a full timeline store: the consumer keeps
    retrying (it used to end for good) and delivers everything once there is room."""
    user = srv.quick_user("tuff")
    assert srv.get("/api/v1/timelines/home", user) == []  # built: fanout now pushes to it
    store = srv.container.backends.timelines
    conn = store._conn
    conn.execute(f"PRAGMA max_page_count={conn.execute('PRAGMA page_count').fetchone()[0]}")
    posted = []
    for n in range(400):
        posted.append(post(srv, user, f"{n} " + "y" * 400, f"t-{n}").json()["id"])
        if store.faults.last is not None:
            break
    assert store.faults.last is not None and store.faults.last.kind == "full"
    assert srv.client.get("/ready").json()["checks"]["timelines.sqlite3"] == "full: database or disk is full"

    conn.execute("PRAGMA max_page_count=1073741823")
    srv.drain(timeout=20)
    home = [s["id"] for s in srv.get("/api/v1/timelines/home", user, limit=40)]
    assert home == list(reversed(posted))[:40]
    assert srv.client.get("/ready").status_code == 200
