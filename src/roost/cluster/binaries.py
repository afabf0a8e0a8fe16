"""Where the engines' programs are: Debian's PostgreSQL server and redis-server (``make engines``)."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

# Debian installs each PostgreSQL major version's server programs here, off PATH.
DEBIAN_PG_ROOT = Path("/usr/lib/postgresql")
PG_PROGRAMS = ("initdb", "pg_ctl", "postgres", "pg_basebackup")


class EnginesMissing(RuntimeError):
    """An engine's programs are not on this machine (``make engines`` installs them)."""


def postgres_bindir() -> Path:
    """The newest PostgreSQL server's bin folder; ``ROOST_PG_BINDIR`` chooses another."""
    chosen = os.environ.get("ROOST_PG_BINDIR")
    candidates: list[Path] = [Path(chosen)] if chosen else []
    if not chosen:
        versions = sorted(
            (p for p in DEBIAN_PG_ROOT.glob("*/bin") if re.fullmatch(r"\d+", p.parent.name)),
            key=lambda p: int(p.parent.name), reverse=True,
        )
        candidates.extend(versions)
        on_path = shutil.which("postgres")
        if on_path:
            candidates.append(Path(on_path).resolve().parent)
    for bindir in candidates:
        if all((bindir / program).is_file() for program in PG_PROGRAMS):
            return bindir
    raise EnginesMissing(
        "no PostgreSQL server found (looked for initdb, pg_ctl, postgres, pg_basebackup in "
        f"{chosen or str(DEBIAN_PG_ROOT) + '/*/bin and PATH'}); run `make engines` "
        "or `apt-get install postgresql`"
    )


def redis_server() -> Path:
    found = shutil.which("redis-server")
    if not found:
        raise EnginesMissing("redis-server not found on PATH; run `make engines` or "
                             "`apt-get install redis-server`")
    return Path(found)


def missing_engines() -> list[str]:
    """Why each absent engine is absent (empty when both are here)."""
    reasons = []
    for probe in (postgres_bindir, redis_server):
        try:
            probe()
        except EnginesMissing as exc:
            reasons.append(str(exc))
    return reasons
