"""Every hot statement of the PostgreSQL family uses an index (EXPLAIN shows no sequential
scan of a big table), on a migrated shard whose every table holds enough rows, ANALYZEd, for
the planner to choose between a scan and an index the way it will in production. Nothing
disables sequential scans: an index is used because it is cheaper, or the test fails.

The statements come from two places, so new queries are covered without editing this file:

* the constants the repositories hold (module-level SQL strings in ``adapters/sql/*.py`` and
  ``adapters/postgres/*.py``), found by walking those packages;
* every statement the repositories actually ran during a broad workload (the contract suites'
  work on the PostgreSQL family), recorded by a thin wrapper around the shard and unit-of-work
  executors (asyncpg has no trace hook), which is how the statements built at run time (IN
  lists, optional bounds) get here.

Each statement is explained as asyncpg runs it, prepared, with a typical argument for each
parameter chosen by its type (values the filled rows hold: an id that has rows, a LIMIT of 7, a
search for a rarer word), so one statement text is explained without knowing its call site.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import pkgutil
import re
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import replace
from typing import Any, TypeVar

import asyncpg
import pytest

import roost.adapters.postgres
import roost.adapters.sql
from roost.adapters.postgres.database import PgDatabase
from roost.adapters.postgres.migrations import ALL
from roost.adapters.postgres.sql import to_dollar
from roost.cluster.topology import Topology

from .conftest import Cluster, open_db

T = TypeVar("T")

ROWS = 30_000  # per table: enough for an index probe to beat reading the table
# Distinct moduli for a table's non-unique columns: any two of them multiply past ROWS, so
# every composite key of two or more such columns stays unique (Chinese remainder theorem).
MODULI = (211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307, 311)
# Realistic spreads for the columns hot queries compare with literals.
ENUMERATIONS = {
    "visibility": ("public", "public", "public", "unlisted", "private", "direct"),
}

# Deliberate sequential scans, by a regex over the statement, with the reason.
WHITELIST: dict[str, str] = {
    r"\bsearch_backfill\b":
        "the one-row mark of a shard whose search index is to be built (migrations/search.py), read"
        " and deleted once at start",
    r"\bschema_migrations\b": "migration bookkeeping: a few rows, read at start",
    r"^DELETE FROM status_search$":
        "the one-off search index rebuild empties the shard's index before filling it again",
    r"FROM statuses s LEFT JOIN accounts a ON a.id = s.account_id WHERE s.reblog_of_id IS NULL AND s.id > \?":
        "the one-off search index rebuild reads every stored status, in id order",
}

_SQL_HEAD = re.compile(r"^\s*(SELECT|UPDATE|DELETE|WITH|INSERT)\b", re.I)


def _whitelisted(sql: str) -> str | None:
    text = " ".join(sql.split())
    return next((why for pattern, why in WHITELIST.items() if re.search(pattern, text)), None)


def reads_rows(sql: str) -> bool:
    """Statements whose plan reads stored rows (an INSERT ... VALUES reads nothing)."""
    head = _SQL_HEAD.match(sql)
    if head is None or "{" in sql:  # a template, completed at run time: the capture has it
        return False
    return head.group(1).upper() != "INSERT" or re.search(r"\bSELECT\b|\bON CONFLICT\b.*\bDO UPDATE\b", sql,
                                                         re.I | re.S) is not None


# -- the plan check ----------------------------------------------------------------------------

# Nodes that read all of their input before returning a row: a LIMIT above them stops nothing below.
_BLOCKING = {"Sort", "Incremental Sort", "Hash", "Aggregate", "Materialize", "SetOp", "WindowAgg"}


def full_scans(plan: dict[str, Any], limited: bool = False) -> list[str]:
    """The nodes of a JSON plan that read a whole table: a sequential scan, or an index walked
    end to end (no index condition) with no LIMIT to stop it."""
    kind = plan["Node Type"]
    bad = []
    if kind == "Seq Scan":
        bad.append(f"Seq Scan on {plan['Relation Name']}")
    elif kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in plan and not limited:
        bad.append(f"{kind} of all of {plan['Index Name']} on {plan['Relation Name']}")
    below = (limited or kind == "Limit") and kind not in _BLOCKING
    for child in plan.get("Plans", ()):
        bad += full_scans(child, below)
    return bad


def test_full_scan_detector() -> None:
    seq = {"Node Type": "Seq Scan", "Relation Name": "statuses"}
    walk = {"Node Type": "Index Scan", "Index Name": "statuses_pkey", "Relation Name": "statuses"}
    probe = {**walk, "Index Cond": "(id = $1)"}
    assert full_scans(seq) == ["Seq Scan on statuses"]
    assert full_scans(walk) and not full_scans(probe)
    assert not full_scans({"Node Type": "Limit", "Plans": [walk]})  # a backward walk a LIMIT stops
    assert full_scans({"Node Type": "Limit", "Plans": [{"Node Type": "Sort", "Plans": [walk]}]})
    bitmap = {"Node Type": "Bitmap Heap Scan", "Relation Name": "status_search",
              "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "status_search_document"}]}
    assert not full_scans(bitmap)
    assert full_scans({"Node Type": "Nested Loop", "Plans": [probe, seq]}) == ["Seq Scan on statuses"]


# -- a filled, analysed shard ------------------------------------------------------------------


class Store:
    """One connection to a migrated, filled shard primary, driven from a loop of its own."""

    def __init__(self, loop: asyncio.AbstractEventLoop, conn: asyncpg.Connection) -> None:
        self.loop = loop
        self.conn = conn

    def run(self, work: Callable[[asyncpg.Connection], Coroutine[Any, Any, T]]) -> T:
        return self.loop.run_until_complete(work(self.conn))

    def plan(self, sql: str) -> dict[str, Any]:
        return self.run(lambda conn: sample_plan(conn, sql))


# A sample argument per parameter type: values the filler's rows hold (see column_value).
SAMPLE_ARGUMENTS = {
    "bigint": "7", "integer": "7", "smallint": "7", "numeric": "7", "boolean": "true",
    "text": "'v7'", "character varying": "'v7'", "bytea": "'\\x00'::bytea",
    "bigint[]": "'{7,8,9}'", "text[]": "'{v7}'",
    "timestamp with time zone": "now()", "timestamp without time zone": "now()",
    "tsvector": "'x7:1'",
    # A status search: a rarer word, found by anyone or by the viewer as author or mention.
    "tsquery": "$$'x7':D & ('listed':A | 'a7':A | 'm7':A)$$",
}


async def sample_plan(conn: asyncpg.Connection, sql: str) -> dict[str, Any]:
    """PostgreSQL's plan for ``sql`` run with a typical argument for each parameter (JSON form)."""
    await conn.execute(f"PREPARE hot AS {to_dollar(sql)}")
    try:
        types = await conn.fetchval(
            "SELECT parameter_types::text[] FROM pg_prepared_statements WHERE name = 'hot'")
        missing = [t for t in types if t not in SAMPLE_ARGUMENTS]
        assert not missing, f"no sample argument for parameters of type {missing}: add one"
        args = f"({', '.join(SAMPLE_ARGUMENTS[t] for t in types)})" if types else ""
        raw = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE hot{args}")
    finally:
        await conn.execute("DEALLOCATE hot")
    return dict(json.loads(raw)[0]["Plan"])


def column_value(table: str, column: str, type_name: str, unique: bool, nullable: bool, modulus: int) -> str:
    """An SQL expression over ``i`` (1..ROWS) for one column of the filler's rows."""
    if column in ENUMERATIONS:
        values = ENUMERATIONS[column]
        return f"(ARRAY[{', '.join(repr(v) for v in values)}])[i % {len(values)} + 1]"
    number = "i" if unique else f"(i % {modulus} + 1)"
    by_type = {
        "bigint": number, "integer": number, "smallint": f"({number} % 32000)",
        "boolean": "(i % 2 = 0)",
        "text": f"'v' || {number}", "character varying": f"'v' || {number}",
        "bytea": "'\\x00'::bytea", "double precision": "random()", "real": "random()", "numeric": number,
        "timestamp with time zone": "now()", "timestamp without time zone": "now()",
        "jsonb": "'{}'::jsonb", "json": "'{}'::json",
        "bigint[]": f"ARRAY[{number}]::bigint[]", "text[]": f"ARRAY['v' || {number}]",
        # A status's document: a common and a rarer word, its author, and findable by anyone.
        "tsvector": (f"('''w' || (i % 50) || ''':1 ''x' || (i % 4999) || ''':2 ''a' || {number}"
                     " || ''':16383A ''listed'':16383A')::tsvector"),
    }
    if type_name not in by_type:
        raise AssertionError(f"the plan filler has no values for {table}.{column} ({type_name}): add them")
    value = by_type[type_name]
    if nullable and not unique:  # most optional references are unset (replies, reblogs)
        value = f"CASE WHEN i % 4 = 0 THEN {value} END"
    return value


async def fill(conn: asyncpg.Connection) -> list[str]:
    """ROWS rows in every table of the schema, then ANALYZE; returns the tables."""
    tables = [r["relname"] for r in await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY c.relname")]
    for table in tables:
        if table in ("schema_migrations", "search_backfill"):
            continue  # bookkeeping rows of their own (see WHITELIST)
        columns = await conn.fetch(
            "SELECT a.attname, format_type(a.atttypid, NULL) AS type_name, NOT a.attnotnull AS nullable,"
            " EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = a.attrelid AND x.indisunique"
            "   AND x.indnatts = 1 AND x.indkey[0] = a.attnum) AS is_unique"
            " FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped"
            " AND a.attgenerated = '' AND a.attidentity = '' ORDER BY a.attnum", table)
        moduli = iter(MODULI)
        values = [column_value(table, c["attname"], c["type_name"], c["is_unique"], c["nullable"],
                               1 if c["is_unique"] else next(moduli)) for c in columns]
        names = ", ".join(f'"{c["attname"]}"' for c in columns)
        await conn.execute(f"INSERT INTO {table} ({names}) SELECT {', '.join(values)}"
                           f" FROM generate_series(1, {ROWS}) AS i")
    await conn.execute("ANALYZE")
    return tables


async def _create_database(cluster: Cluster, name: str, drop: bool = False) -> None:
    for shard in cluster.topology.shards:
        conn = await asyncpg.connect(cluster.topology.dsn(cluster.topology.primary(shard)), timeout=10)
        try:
            await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)" if drop else f"CREATE DATABASE {name}")
        finally:
            await conn.close()


@pytest.fixture(scope="module")
def store(pg_cluster: Cluster) -> Iterator[Store]:
    name = f"plans_{uuid.uuid4().hex[:8]}"
    asyncio.run(_create_database(pg_cluster, name))
    topology: Topology = replace(pg_cluster.topology, postgres=replace(pg_cluster.topology.postgres, database=name))
    on_store = Cluster(pg_cluster.state_dir, topology)

    async def migrate() -> None:
        db: PgDatabase = await open_db(on_store)
        try:
            await db.migrate(ALL)
        finally:
            await db.close()

    loop = asyncio.new_event_loop()
    conn = None
    try:
        loop.run_until_complete(migrate())
        conn = loop.run_until_complete(asyncpg.connect(topology.dsn(topology.primary(0)), timeout=10))
        store = Store(loop, conn)
        store.run(fill)
        yield store
    finally:
        if conn is not None:
            loop.run_until_complete(conn.close())
        loop.close()
        asyncio.run(_create_database(pg_cluster, name, drop=True))


# -- the repositories' statements --------------------------------------------------------------


def constant_statements() -> dict[str, str]:
    """Every module-level SQL constant of the SQL and PostgreSQL adapters that reads rows, by
    ``module.NAME``."""
    found: dict[str, str] = {}
    for package in (roost.adapters.sql, roost.adapters.postgres):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if ".migrations" in info.name:
                continue
            module = importlib.import_module(info.name)
            for attr, value in vars(module).items():
                if attr.isupper() and isinstance(value, str) and reads_rows(value):
                    found[f"{info.name.rpartition('.')[2]}.{attr}"] = value
    return found


CONSTANTS = constant_statements()


def test_the_repositories_hold_their_statements_as_constants() -> None:
    assert len(CONSTANTS) >= 5, sorted(CONSTANTS)  # the walk found the modules


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_hot_statement_uses_an_index(store: Store, name: str) -> None:
    sql = CONSTANTS[name]
    scans = full_scans(store.plan(sql))
    assert not scans or _whitelisted(sql), (name, sql, scans)
