"""`roost migrate` as an operator runs it: concurrent runs apply each step once and say
what they applied; `roost serve --target` refuses an unmigrated data directory with one
line and starts once it is migrated; `roost up` migrates by itself."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import httpx
import pytest
from e2e_support import ROOST, RoostServer, free_port, wait_until

from roost.runtime.backends import MIGRATIONS, check_data_dir
from roost.settings import Settings

pytestmark = pytest.mark.e2e
SHARDS = 4  # Settings' default physical shards
ENV = {k: v for k, v in os.environ.items() if not k.startswith("ROOST_")}  # defaults, as an operator's
STEP_RE = re.compile(r"^applied (\S+) (\d+) on shards? ([\d, ]+)$")


def roost(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*ROOST, *args, "--data-dir", str(data_dir)], capture_output=True, text=True,
                          timeout=120, env=ENV)


def applied_steps(stdout: str) -> list[tuple[int, str, int]]:
    steps = []
    for line in stdout.splitlines():
        if match := STEP_RE.match(line):
            component, version, shards = match.groups()
            steps += [(int(s), component, int(version)) for s in shards.split(", ")]
    return steps


def test_concurrent_migrate_runs_apply_each_step_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    check_data_dir(Settings(data_dir=data))  # set up (not migrated), so only migrations race
    runs = [subprocess.Popen([*ROOST, "migrate", "--data-dir", str(data)], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, env=ENV) for _ in range(3)]
    outputs = [run.communicate(timeout=120) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _out, err in outputs]
    steps = sorted(step for out, _err in outputs for step in applied_steps(out))
    assert steps == sorted((s, m.component, m.version) for s in range(SHARDS) for m in MIGRATIONS)
    again = roost("migrate", data_dir=data)
    assert again.returncode == 0 and applied_steps(again.stdout) == []
    assert "schema current (0 step(s) applied" in again.stdout


def test_serve_refuses_an_unmigrated_data_dir_then_starts_once_migrated(tmp_path: Path) -> None:
    data = tmp_path / "data"
    port = free_port()
    refused = subprocess.run(
        [*ROOST, "serve", "--target", "all", "--port", str(port), "--data-dir", str(data)],
        capture_output=True, text=True, timeout=60, env=ENV,
    )
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [refused.stderr.strip()]  # one line
    assert refused.stderr.startswith("roost: refusing to start: the database schema is not current")
    assert refused.stderr.strip().endswith("run roost migrate")

    assert roost("migrate", data_dir=data).returncode == 0
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(
            [*ROOST, "serve", "--target", "all", "--port", str(port), "--data-dir", str(data)],
            stdout=out, stderr=subprocess.STDOUT, env=ENV,
        )
    try:
        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return server.poll() is not None  # stop waiting if it died; asserted below
        wait_until(healthy, timeout=30)
        assert server.poll() is None, log.read_text()
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_up_migrates_by_itself(tmp_path: Path) -> None:
    server = RoostServer(tmp_path / "data", log_dir=tmp_path / "logs").start()
    try:
        assert httpx.get(f"{server.url}/api/v1/instance", timeout=5).status_code == 200
    finally:
        server.stop()
    again = roost("migrate", data_dir=tmp_path / "data")
    assert again.returncode == 0 and applied_steps(again.stdout) == []  # nothing left to apply


def test_serve_refuses_an_unknown_target_with_one_line(tmp_path: Path) -> None:
    result = roost("serve", "--target", "nonsense", data_dir=tmp_path / "data")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "roost: unknown target 'nonsense' (`roost list-targets` lists them)"]
    assert not (tmp_path / "data").exists()  # refused before touching the data directory
