"""The conditions a figure was measured under: code, machine and target.

A throughput figure means little without the commit it measured, the cores
it ran on, how busy the machine was and which shape the server had, so
every result file carries these.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path
from typing import Any

import httpx

from roost.bench.results import Conditions

# What the target says about itself, kept short: enough to tell an embedded
# server from a cluster, and roost from the raw ASGI app.
_INSTANCE_KEYS = ("uri", "domain", "title", "version", "source_url", "stats", "usage")
_MAX_TEXT = 2000


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / ".git").exists():
            return parent
    return Path.cwd()


def git_commit(root: Path | None = None) -> tuple[str, bool]:
    cwd = root or _repo_root()
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown", False
    if head.returncode != 0:
        return "unknown", False
    return head.stdout.strip(), bool(dirty.stdout.strip())


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def loadavg() -> float:
    try:
        return os.getloadavg()[0]
    except OSError:
        return -1.0


async def probe_target(client: httpx.AsyncClient, base: str) -> dict[str, Any]:
    """What ``/ready`` and ``/api/v1/instance`` of ``base`` say, if anything."""
    info: dict[str, Any] = {"url": base}
    for key, path in (("ready", "/ready"), ("instance", "/api/v1/instance")):
        try:
            response = await client.get(base.rstrip("/") + path, timeout=3.0)
        except httpx.HTTPError as exc:
            info[key] = {"error": type(exc).__name__}
            continue
        server = response.headers.get("server")
        if server:
            info["server"] = server
        try:
            body: Any = response.json()
        except ValueError:
            info[key] = {"status": response.status_code, "text": response.text[:_MAX_TEXT]}
            continue
        if key == "instance" and isinstance(body, dict):
            body = {k: body[k] for k in _INSTANCE_KEYS if k in body}
        info[key] = {"status": response.status_code, "body": body}
    return info


async def collect_conditions(targets: list[str], load_tool: str) -> Conditions:
    commit, dirty = git_commit()
    async with httpx.AsyncClient() as client:
        infos = [await probe_target(client, t) for t in dict.fromkeys(targets)]
    return Conditions(
        date=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        commit=commit,
        commit_dirty=dirty,
        cores=os.cpu_count() or 0,
        cpu_model=cpu_model(),
        loadavg_1m=loadavg(),
        python=platform.python_version(),
        platform=platform.platform(),
        load_tool=load_tool,
        target_info={"targets": infos},
    )


def target_shape(info: dict[str, Any]) -> str:
    """A one-word name for what answered: roost's shape, raw-asgi, or unknown."""
    ready = info.get("ready", {}).get("body")
    if isinstance(ready, dict):
        for key in ("shape", "mode", "target"):
            value = ready.get(key)
            if isinstance(value, str):
                return value
    instance = info.get("instance", {}).get("body")
    if isinstance(instance, dict) and "version" in instance:
        return "roost"
    return "unknown"
