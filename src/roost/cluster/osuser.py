"""Which OS user runs an engine, and handing it the files it needs.

PostgreSQL refuses to run as root, and a database server running as root is one bug away from
owning the machine, so when roost runs as root each engine runs as its Debian package's user
(``postgres``, ``redis``); a developer who is not root runs them as themself.
"""

from __future__ import annotations

import os
import pwd
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class EngineUserError(RuntimeError):
    """The engine's user is missing, or cannot reach the state folder."""


@dataclass(frozen=True)
class OsUser:
    name: str
    uid: int
    gid: int

    @property
    def is_current(self) -> bool:
        return self.uid == os.geteuid()

    def popen_options(self) -> dict[str, Any]:
        """subprocess options that run a program as this user (nothing when it is us)."""
        if self.is_current:
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def engine_user(package_user: str) -> OsUser:
    if os.geteuid() != 0:
        me = pwd.getpwuid(os.geteuid())
        return OsUser(me.pw_name, me.pw_uid, me.pw_gid)
    try:
        entry = pwd.getpwnam(package_user)
    except KeyError:
        raise EngineUserError(
            f"running as root, the engine must run as user {package_user!r}, which does not exist "
            "(Debian's package creates it: run `make engines`)") from None
    return OsUser(entry.pw_name, entry.pw_uid, entry.pw_gid)


def hand_over(path: Path, user: OsUser) -> None:
    """Give ``path`` (and everything under it) to ``user``."""
    if user.is_current:
        return
    os.chown(path, user.uid, user.gid, follow_symlinks=False)
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs),
                     *(os.path.join(root, f) for f in files)]:
            os.chown(name, user.uid, user.gid, follow_symlinks=False)


def check_reachable(folder: Path, user: OsUser) -> None:
    """Fail clearly when ``user`` cannot write in ``folder`` (a parent folder closed to others)."""
    if user.is_current:
        return
    result = subprocess.run(["test", "-w", str(folder)], check=False, **user.popen_options())
    if result.returncode != 0:
        closed = next((p for p in reversed(folder.parents) if not (p.stat().st_mode & 0o001)), None)
        hint = f" ({closed} is closed to other users)" if closed else ""
        raise EngineUserError(
            f"user {user.name!r} cannot reach {folder}{hint}; choose a state folder every user "
            "can pass through, e.g. under /tmp or /var/lib")
