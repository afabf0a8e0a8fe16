"""Named fault-injection points, switched on by configuration (``ROOST_FAILPOINTS``).

Used by the crash tests to kill the process at an exact step (for example
right after a status commits and before it is published), the way TiKV and
FoundationDB test recovery. Off unless configured: ``hit()`` is then a dict lookup.

Format: ``name=action[,name=action]``; actions: ``kill`` (SIGKILL self), ``error``.
"""

from __future__ import annotations

import os
import signal


class FailpointError(RuntimeError):
    pass


class Failpoints:
    def __init__(self, spec: str = "") -> None:
        self._actions: dict[str, str] = {}
        for item in filter(None, (part.strip() for part in spec.split(","))):
            name, _, action = item.partition("=")
            self._actions[name.strip()] = action.strip() or "kill"

    def hit(self, name: str) -> None:
        action = self._actions.get(name)
        if action is None:
            return
        if action == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        raise FailpointError(name)
