"""``roost cluster up`` starts roost itself: migrated, ``--processes`` servers by PID, a real HTTP
request through each, idempotent, listed by ``status``, stopped by ``down``."""

from __future__ import annotations

import json
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from cluster.conftest import stop_everything
from roost.cli import main
from roost.cluster import processes, roost_processes, supervisor
from roost.cluster.layout import StateDir
from roost.cluster.roost_processes import RoostProcess


def test_plan_keeps_recorded_processes_and_adds_or_drops_to_the_count() -> None:
    ports = iter([5001, 5002, 5003])
    first = roost_processes.plan([], None, None, ports)
    assert first == [RoostProcess("roost-0", "127.0.0.1", 5001, "all")]
    grown = roost_processes.plan(first, 3, None, ports)
    assert [(p.name, p.port, p.target) for p in grown] == [
        ("roost-0", 5001, "all"), ("roost-1", 5002, "gateway"), ("roost-2", 5003, "gateway")]
    assert roost_processes.plan(grown, None, None, ports) == grown  # as many as recorded
    assert roost_processes.plan(grown, 1, None, ports) == first
    assert [p.port for p in roost_processes.plan([], 2, 8081, ports)] == [8081, 8082]


def _status(state_dir: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, dict[str, Any]]:
    capsys.readouterr()
    main(["cluster", "status", "--json", "--state-dir", str(state_dir)])
    return {n["name"]: n for n in json.loads(capsys.readouterr().out)}


def _tour(first: str, second: str) -> None:
    """Register, follow, post and read, writing through one process and reading through the other."""
    with httpx.Client(timeout=30) as http:
        app = http.post(f"{first}/api/v1/apps", data={
            "client_name": "cluster", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read write follow"}).json()
        app_token = http.post(f"{first}/oauth/token", data={
            "grant_type": "client_credentials", "client_id": app["client_id"],
            "client_secret": app["client_secret"], "scope": "read write follow"}).json()["access_token"]

        def register(name: str) -> dict[str, str]:
            answer = http.post(f"{second}/api/v1/accounts", headers={"Authorization": f"Bearer {app_token}"}, data={
                "username": name, "email": f"{name}@example.com", "password": "correct horse battery",
                "agreement": "true", "locale": "en"})
            assert answer.status_code == 200, answer.text
            return {"Authorization": f"Bearer {answer.json()['access_token']}"}

        suffix = uuid.uuid4().hex[:6]
        alice, bob = register(f"alice{suffix}"), register(f"bob{suffix}")
        alice_id = http.get(f"{first}/api/v1/accounts/verify_credentials", headers=alice).json()["id"]
        assert http.post(f"{second}/api/v1/accounts/{alice_id}/follow", headers=bob).status_code == 200
        posted = http.post(f"{second}/api/v1/statuses", headers=alice, data={"status": "hello"})
        assert posted.status_code == 200, posted.text
        status_id = posted.json()["id"]
        assert http.get(f"{first}/api/v1/statuses/{status_id}", headers=alice).json()["content"] == "<p>hello</p>"
        home: list[Any] = []
        for _ in range(300):  # the first process fans out (its consumers read the shared log)
            home = http.get(f"{first}/api/v1/timelines/home", headers=bob).json()
            if home:
                break
            time.sleep(0.05)
        assert [s["id"] for s in home] == [status_id]


def test_up_starts_roost_and_is_idempotent_and_down_stops_it(
        state_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state_dir = state_root / "with-roost"
    try:
        assert main(["cluster", "up", "--shards", "1", "--replicas", "1", "--no-fsync", "--processes", "2",
                     "--state-dir", str(state_dir)]) == 0
        out = capsys.readouterr().out
        servers = roost_processes.load(StateDir(state_dir.resolve()))
        assert [(s.name, s.target) for s in servers] == [("roost-0", "all"), ("roost-1", "gateway")]
        for server in servers:
            assert f"serving the Mastodon API on {server.url}" in out
        assert "applied accounts 1" in out  # migrated before roost started

        _tour(servers[0].url, servers[1].url)
        nodes = _status(state_dir, capsys)
        assert {n: nodes[n]["health"] for n in ("roost-0", "roost-1")} == {"roost-0": "up", "roost-1": "up"}
        assert nodes["roost-1"]["address"] == servers[1].url

        # A dead roost process is started again by the next `up`; nothing else is restarted.
        before = StateDir(state_dir.resolve()).read_pids()
        processes.stop(before["roost-1"], signal.SIGKILL, 10)
        assert _status(state_dir, capsys)["roost-1"]["health"] == "down"
        assert main(["cluster", "up", "--state-dir", str(state_dir)]) == 0
        after = StateDir(state_dir.resolve()).read_pids()
        assert after["roost-1"] != before["roost-1"]
        assert {n: r for n, r in after.items() if n != "roost-1"} == {
            n: r for n, r in before.items() if n != "roost-1"}
        assert roost_processes.load(StateDir(state_dir.resolve())) == servers  # same addresses
        _tour(servers[1].url, servers[0].url)

        stopped = supervisor.down(state_dir)
        assert stopped[:2] == ["roost-0", "roost-1"]  # roost before the engines
        assert not any(processes.alive(r) for r in after.values())
        assert {n["health"] for n in _status(state_dir, capsys).values()} == {"down"}
    finally:
        stop_everything(state_dir)


def test_a_roost_process_that_cannot_start_is_one_clear_error(
        state_root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state_dir = state_root / "port-taken"
    taken = supervisor.spare_ports()
    port = next(taken)  # held bound by this test: roost must refuse it
    try:
        assert main(["cluster", "up", "--shards", "1", "--replicas", "0", "--no-fsync", "--port", str(port),
                     "--state-dir", str(state_dir)]) == 1
        err = capsys.readouterr().err
        assert "roost-0" in err and "address already in use" in err
        assert "roost-0" not in StateDir(state_dir.resolve()).read_pids()
    finally:
        taken.close()
        stop_everything(state_dir)


def test_serve_refuses_an_unmigrated_cluster_until_roost_migrate(
        state_root: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    state_dir = state_root / "unmigrated"
    try:
        assert main(["cluster", "up", "--shards", "1", "--replicas", "0", "--no-fsync", "--processes", "0",
                     "--state-dir", str(state_dir)]) == 0
        assert "applied" not in capsys.readouterr().out  # --processes 0: the engines alone
        monkeypatch.setenv("ROOST_CLUSTER_CONFIG", str(StateDir(state_dir.resolve()).config))
        port = str(next(supervisor.spare_ports()))
        assert main(["serve", "--target", "gateway", "--port", port]) == 2
        assert "run roost migrate" in capsys.readouterr().err
        assert main(["migrate"]) == 0
        out = capsys.readouterr().out
        assert "applied statuses 1 on shard 0" in out and "applied accounts 1 on shard 0" in out
        assert main(["migrate"]) == 0
        assert "schema current (0 step(s) applied" in capsys.readouterr().out
    finally:
        stop_everything(state_dir)
