"""The executor behind a unit of work, for the SQL repositories."""

from __future__ import annotations

from typing import cast

from roost.ports.database import Executor, Tx


def executor(tx: Tx) -> Executor:
    """The SQL executor behind an opaque ``Tx``. Every unit of work a SQL family opens
    (``SqliteShard.transaction``, ``PgShard.transaction``) is one, and only repositories
    of those families look inside."""
    return cast(Executor, tx)
