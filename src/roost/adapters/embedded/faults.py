"""SQLite's storage faults, classified into roost's errors and remembered per file.

A full disk, a read-only or damaged file, an I/O error or a lock held too long are
the operator's problem, not the client's: the client gets 507 or 503 in Mastodon's
shape (never a 500), the operator gets one log line per file when its state changes
(not one per request), and /ready reports the file until a write probe succeeds.
Errors that are roost's own (a constraint, bad SQL) are not storage faults and pass
through unchanged.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from typing import NoReturn

from roost.errors import InsufficientStorage, RoostError, Unavailable

logger = logging.getLogger("roost.storage")

# Primary result codes (extended codes carry them in their low byte).
_KINDS = {
    sqlite3.SQLITE_FULL: "full",
    sqlite3.SQLITE_READONLY: "read-only",
    sqlite3.SQLITE_CORRUPT: "corrupt",
    sqlite3.SQLITE_NOTADB: "corrupt",
    sqlite3.SQLITE_IOERR: "io-error",
    sqlite3.SQLITE_CANTOPEN: "io-error",
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
}
# A damaged file does not heal: only a restart (which runs quick_check) or `roost doctor`
# says it is fine again. The other faults clear when a write probe succeeds.
STICKY = frozenset({"corrupt"})


def fault_kind(exc: sqlite3.Error) -> str | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return None
    return _KINDS.get(code & 0xFF)


def error_for(kind: str) -> RoostError:
    if kind == "full":
        return InsufficientStorage(
            "The server is out of storage space; try again later", headers={"Retry-After": "60"}
        )
    if kind == "busy":
        return Unavailable("The server is busy; try again", headers={"Retry-After": "1"})
    return Unavailable("Storage is unavailable; try again later", headers={"Retry-After": "30"})


@dataclass(frozen=True)
class Fault:
    kind: str
    message: str
    at: float


class FaultRecord:
    """The last storage fault seen on one file (``label``), by a real query or a probe."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.last: Fault | None = None

    def raise_for(self, exc: sqlite3.Error) -> NoReturn:
        """Re-raise ``exc`` as roost's error for its fault (recording it), or as it is."""
        kind = fault_kind(exc)
        if kind is None:
            raise exc
        self.record(kind, str(exc))
        raise error_for(kind) from exc

    def record(self, kind: str, message: str) -> None:
        if self.last is None or self.last.kind != kind:
            logger.error("storage fault on %s: %s (%s)", self.label, message, kind)
        if self.last is None or self.last.kind not in STICKY:
            self.last = Fault(kind, message, time.time())

    def probe_succeeded(self) -> None:
        if self.last is not None and self.last.kind not in STICKY:
            logger.warning("storage on %s writable again (was %s)", self.label, self.last.kind)
            self.last = None
