"""Processes known by PID and start time, so that a PID reused by another program is never signalled."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from dataclasses import dataclass

import psutil


@dataclass(frozen=True)
class ProcessRecord:
    pid: int
    # psutil's create_time: with the PID, it names one process for the machine's uptime.
    started: float


def record(pid: int) -> ProcessRecord:
    return ProcessRecord(pid=pid, started=psutil.Process(pid).create_time())


def _process(rec: ProcessRecord) -> psutil.Process | None:
    """The live process the record names, or None (gone, reused PID, or a zombie, which is reaped)."""
    try:
        proc = psutil.Process(rec.pid)
        if abs(proc.create_time() - rec.started) > 0.01:
            return None
        if proc.status() == psutil.STATUS_ZOMBIE:
            _reap(rec.pid)
            return None
        return proc
    except psutil.Error:
        return None


def _reap(pid: int) -> None:
    # Redis is our child while the process that started it lives (tests): collect its exit status.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def alive(rec: ProcessRecord) -> bool:
    return _process(rec) is not None


def wait_gone(rec: ProcessRecord, timeout: float) -> bool:
    """Wait until the PID is not even a zombie: PostgreSQL refuses to start while the PID in its
    lock file exists, and a dead postmaster stays a zombie until its parent (often PID 1) reaps it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            proc = psutil.Process(rec.pid)
            if abs(proc.create_time() - rec.started) > 0.01:
                return True
        except psutil.NoSuchProcess:
            return True
        _reap(rec.pid)
        time.sleep(0.05)
    return False


def send(rec: ProcessRecord, sig: signal.Signals) -> bool:
    proc = _process(rec)
    if proc is None:
        return False
    proc.send_signal(sig)
    return True


def stop(rec: ProcessRecord, sig: signal.Signals, timeout: float) -> None:
    """Ask with ``sig``, wait up to ``timeout`` seconds, then SIGKILL this PID (and only it)."""
    if not send(rec, sig):
        return
    if _wait_exit(rec, timeout):
        return
    send(rec, signal.SIGKILL)
    _wait_exit(rec, timeout)


def _wait_exit(rec: ProcessRecord, timeout: float) -> bool:
    # Not psutil's wait(): for a process that is not our child it waits until the zombie is
    # reaped by its parent, which PID 1 on some machines does only every few seconds.
    deadline = time.monotonic() + timeout
    while alive(rec):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
