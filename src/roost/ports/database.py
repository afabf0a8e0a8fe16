"""The database port: a set of physical shards and units of work on them.

Services see only ``ShardedDatabase`` for routing, ``ShardHandle`` and ``Tx``: a
unit of work on one shard, opaque to them. What is stored goes through the
repository ports (``ports/<area>.py``), whose methods take the ``Tx`` to write in
and route reads by id themselves; each adapter family (embedded SQLite,
PostgreSQL) implements every repository over its own handles, and its repositories
alone know what a ``Tx`` really is.

``Executor`` and ``Shard`` below are the SQL adapters' own interface (moving out of
the ports as the services move onto repositories; no new service code uses them).

SQL handed to a shard uses ``?`` placeholders and syntax both SQLite and
PostgreSQL accept (``ON CONFLICT ... DO NOTHING``, ``RETURNING``); adapters
translate placeholders for their driver. Snowflake primary keys are declared
``INTEGER PRIMARY KEY``: in SQLite that is the 64-bit rowid itself (no second
index to walk); a PostgreSQL adapter maps it to ``BIGINT PRIMARY KEY``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from roost.domain.shards import ShardMap

Row = Mapping[str, Any]
Params = Sequence[Any]


@dataclass(frozen=True)
class Migration:
    """One schema step of one component; applied once per physical shard, in order."""

    component: str
    version: int
    statements: tuple[str, ...]


class Tx(Protocol):
    """An open unit of work on one shard: everything written with it commits or
    rolls back together. Opaque to services; repositories of the same adapter family
    know what it is."""


class ShardHandle(Protocol):
    index: int

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        """A unit of work on this shard (a ``Tx``): commits on exit, rolls back on error."""
        ...


class Executor(Protocol):
    async def fetch_all(self, sql: str, params: Params = ()) -> list[Row]: ...
    async def fetch_one(self, sql: str, params: Params = ()) -> Row | None: ...
    async def execute(self, sql: str, params: Params = ()) -> int:
        """Run a statement; returns the number of rows changed."""
        ...
    async def execute_many(self, sql: str, rows: Sequence[Params]) -> None: ...


class Shard(Executor, Protocol):
    index: int

    def transaction(self) -> AbstractAsyncContextManager[Executor]:
        """A unit of work on this shard: commits on exit, rolls back on error."""
        ...

    async def explain(self, sql: str, params: Params = ()) -> list[str]:
        """The engine's query plan, one line per step (for index tests and operators)."""
        ...


class ShardedDatabase(Protocol):
    shard_map: ShardMap

    @property
    def shards(self) -> Sequence[Shard]: ...
    def for_id(self, snowflake: int) -> Shard: ...
    def for_key(self, key: str | int) -> Shard: ...
    def for_logical(self, logical: int) -> Shard: ...
    async def migrate(self, migrations: Sequence[Migration]) -> Sequence[tuple[int, Migration]]:
        """Apply the steps not yet applied, on every shard, under a lock that makes
        concurrent migrators (processes) take turns; returns (shard, step) applied here."""
        ...
    async def unapplied(self, migrations: Sequence[Migration]) -> Sequence[tuple[int, Migration]]:
        """(shard, step) for each step not yet applied: empty when the schema is current."""
        ...
    async def ping(self) -> None: ...
    async def close(self) -> None: ...
