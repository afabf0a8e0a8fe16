"""PostgreSQL's and asyncpg's failures, classified into roost's errors.

A node that is down, restarting, out of connections, read-only after a failover or too slow
is the operator's problem or a passing state, not the client's: the client gets 503 with
``Retry-After`` in Mastodon's shape, never a 500. A transaction the engine aborted to keep
transactions serialisable (serialization failure, deadlock) is safe to retry, so it is a
503 with a short ``Retry-After`` too. A unique violation is a ``Conflict`` for the
repository to translate ("already exists", or an idempotent no-op). A full disk is 507 as
on SQLite. Everything else (bad SQL, other constraints) is roost's own bug and passes
through unchanged.

The operator gets one log line per node when its state changes, not one per request.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import NoReturn

import asyncpg
from asyncpg import exceptions as pg

from roost.errors import Conflict, InsufficientStorage, RoostError, Unavailable

logger = logging.getLogger("roost.storage")

# Seconds a client should wait before retrying, by kind of failure.
RETRY_AFTER = {"down": 5, "busy": 1, "read-only": 5, "retry": 1, "timeout": 2, "slow": 2, "full": 60}
# Kinds that say something about one statement, not about the node's health.
NOT_NODE_STATE = frozenset({"retry", "slow"})
_MESSAGES = {
    "down": "The database is unavailable; try again later",
    "busy": "The database is busy; try again",
    "read-only": "The database is changing over to a new primary; try again",
    "retry": "The request conflicted with another one; try again",
    "timeout": "The database took too long to answer; try again",
    "slow": "The database took too long to answer; try again",
    "full": "The server is out of storage space; try again later",
}


def fault_kind(exc: BaseException) -> str | None:
    """The kind of passing or operational failure ``exc`` is, or None for roost's own errors."""
    if isinstance(exc, pg.TooManyConnectionsError | pg.CannotConnectNowError):
        return "busy"  # also "the database system is starting up": both pass soon
    if isinstance(exc, pg.DiskFullError):
        return "full"
    if isinstance(exc, pg.ReadOnlySQLTransactionError):
        return "read-only"  # a write reached a node that is (now) a replica
    if isinstance(exc, pg.TransactionRollbackError):
        return "retry"  # serialization failure, deadlock: the engine rolled back; retry is safe
    if isinstance(exc, pg.QueryCanceledError):
        return "slow"  # statement_timeout (or an operator's pg_cancel_backend)
    if isinstance(exc, pg.PostgresConnectionError | pg.OperatorInterventionError
                  | pg.InsufficientResourcesError):
        return "down"  # connection failures, admin/crash shutdown, out of memory
    if isinstance(exc, asyncpg.InterfaceError) and _lost_connection(exc):
        return "down"
    if isinstance(exc, pg.InternalClientError) and "another operation" in str(exc):
        # A pooled connection the server terminated while a call was on it: asyncpg's
        # protocol is left mid-operation and refuses the next call (seen when a node stops).
        return "down"
    if isinstance(exc, TimeoutError):
        return "timeout"  # connect, pool acquire or client-side command timeout
    if isinstance(exc, OSError):
        return "down"  # refused, reset, unreachable
    return None


def _lost_connection(exc: asyncpg.InterfaceError) -> bool:
    # asyncpg reports a connection that closed under a call as an InterfaceError whose text is
    # the only distinction from a misuse of the API (which is roost's bug, not a fault).
    text = str(exc).lower()
    return "connection is closed" in text or "connection was closed" in text or (
        "pool is closing" in text)


def error_for(kind: str) -> RoostError:
    headers = {"Retry-After": str(RETRY_AFTER[kind])}
    if kind == "full":
        return InsufficientStorage(_MESSAGES[kind], headers=headers)
    return Unavailable(_MESSAGES[kind], headers=headers)


def translate(exc: BaseException) -> BaseException:
    """roost's error for ``exc`` (unchanged when it is none of the classified kinds)."""
    if isinstance(exc, pg.UniqueViolationError):
        return Conflict(constraint=exc.constraint_name)
    kind = fault_kind(exc)
    return exc if kind is None else error_for(kind)


@dataclass(frozen=True)
class Fault:
    kind: str
    message: str
    at: float


class FaultRecord:
    """The last fault seen on one node (``label``), cleared by the next success on it."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.last: Fault | None = None

    def raise_for(self, exc: BaseException) -> NoReturn:
        """Raise roost's error for ``exc`` (recording a fault), or ``exc`` itself."""
        translated = translate(exc)
        if translated is exc:
            raise exc
        kind = fault_kind(exc)
        if kind is not None:
            self.record(kind, f"{type(exc).__name__}: {exc}")
        raise translated from exc

    def record(self, kind: str, message: str) -> None:
        if kind in NOT_NODE_STATE:
            return  # a rolled-back or cancelled statement says nothing about the node's health
        if self.last is None or self.last.kind != kind:
            logger.error("database fault on %s: %s (%s)", self.label, message, kind)
        self.last = Fault(kind, message, time.time())

    def succeeded(self) -> None:
        if self.last is not None:
            logger.warning("database %s answering again (was %s)", self.label, self.last.kind)
            self.last = None
