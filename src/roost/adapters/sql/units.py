"""The executor behind a unit of work, for the SQL repositories."""

from __future__ import annotations

from typing import cast

from roost.ports.database import Executor, Tx


def executor(tx: Tx) -> Executor:
    """The SQL executor behind an opaque ``Tx``. Every unit of work a SQL family opens
    (``SqliteShard.transaction``, ``PgShard.transaction``) is one, and only repositories
    of those families look inside."""
    return cast(Executor, tx)


def storable(text: str) -> bool:
    """Whether ``text`` can be stored at all: PostgreSQL text holds no NUL character, and
    the services refuse one in what they write. A look-up of such a key finds nothing,
    on either engine, without asking it (PostgreSQL would reject the statement)."""
    return "\x00" not in text
