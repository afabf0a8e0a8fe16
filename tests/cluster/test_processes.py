"""PIDs are signalled only while they still name the process that was recorded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from roost.cluster import processes, supervisor
from roost.cluster.osuser import EngineUserError


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_a_record_with_another_start_time_is_never_signalled(sleeper: subprocess.Popen[bytes]) -> None:
    real = processes.record(sleeper.pid)
    reused = replace(real, started=real.started - 100)  # as if the PID now named another program
    assert not processes.alive(reused)
    processes.stop(reused, signal.SIGKILL, 5)
    assert sleeper.poll() is None
    assert processes.alive(real)


def test_stop_ends_the_recorded_process_and_reaps_it(sleeper: subprocess.Popen[bytes]) -> None:
    real = processes.record(sleeper.pid)
    processes.stop(real, signal.SIGTERM, 5)
    assert not processes.alive(real)
    assert processes.wait_gone(real, 5)


def test_stop_falls_back_to_sigkill_for_a_process_that_ignores_sigterm() -> None:
    proc = subprocess.Popen([sys.executable, "-c",
                             "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
                             "print('ready', flush=True); time.sleep(60)"], stdout=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"ready\n"
        real = processes.record(proc.pid)
        processes.stop(real, signal.SIGTERM, 0.5)
        # It ignores SIGTERM and sleeps a minute: gone when stop returns means SIGKILL came.
        assert not processes.alive(real)
    finally:
        proc.kill()
        proc.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root hands the state folder to another user")
def test_a_state_folder_the_engine_user_cannot_reach_is_a_clear_error(
        state_root: Path, tmp_path: Path) -> None:
    # pytest's own tmp_path is closed to other users (0700): exactly the mistake to report.
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    with pytest.raises(EngineUserError, match=r"'postgres' cannot reach .* is closed to other users"):
        supervisor.up(closed / "state", shards=1, replicas=0, fsync=False)
    supervisor.down(closed / "state")
