"""Every hot statement of the PostgreSQL family uses an index (EXPLAIN shows no sequential
scan of a big table), on a migrated shard whose every table holds enough rows, ANALYZEd, for
the planner to choose between a scan and an index the way it will in production. Nothing
disables sequential scans: an index is used because it is cheaper, or the test fails.

The statements come from two places, so new queries are covered without editing this file:

* the constants the repositories hold (module-level SQL strings in ``adapters/sql/*.py`` and
  ``adapters/postgres/*.py``), found by walking those packages;
* every statement roost sent to PostgreSQL while the SQLite plan test's API workload
  (tests/api/test_query_plans.py ``workload``: every route and service path that reads or
  changes stored data) ran on the cluster shape, start-up included, recorded by a thin wrapper
  around the shard and unit-of-work executors (asyncpg has no trace hook): that is how the
  statements built at run time (IN lists, optional bounds) get here. The SQLite test's hot
  query families must each have been seen.

Each statement is explained as asyncpg runs it, prepared, with a typical argument for each
parameter chosen by its type (values the filled rows hold: an id that has rows, a LIMIT of 7, a
search for a rarer word), so one statement text is explained without knowing its call site.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import json
import pkgutil
import re
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest

import roost.adapters.postgres
import roost.adapters.sql
from api import test_query_plans as sqlite_plans
from cluster.conftest import roost_cluster
from roost.adapters.postgres import search
from roost.adapters.postgres.database import PgDatabase, PgExecutor, PgShard
from roost.adapters.postgres.migrations import ALL
from roost.adapters.postgres.sql import to_dollar
from roost.cluster.topology import Topology

from .conftest import Cluster, open_db

__all__ = ["roost_cluster"]  # a fixture: the cluster the API workload runs on

T = TypeVar("T")

ROWS = 30_000  # per table: enough for an index probe to beat reading the table
# Distinct moduli for a table's non-unique columns: any two of them multiply past ROWS, so
# every composite key of two or more such columns stays unique (Chinese remainder theorem).
MODULI = (211, 223, 227, 229, 233, 239, 241, 251, 257, 263, 269, 271, 277, 281, 283, 293, 307, 311)
# Realistic spreads for the columns hot queries compare with literals.
ENUMERATIONS = {
    "visibility": ("public", "public", "public", "unlisted", "private", "direct"),
}

# Deliberate sequential scans, by a regex over the statement, with the reason: the SQLite
# test's (the same statements run here), and these.
WHITELIST: dict[str, str] = {
    **sqlite_plans.WHITELIST,
    r"^SELECT id FROM accounts WHERE followers_count >= \?$":
        "the celebrity set, loaded once per process at start (AccountsService.start), per shard;"
        " on no request path (a follower count change re-checks that one account)",
    r"\bsearch_backfill\b":
        "the one-row mark of a shard whose search index is to be built (migrations/search.py), read"
        " and deleted once at start",
    r"\bschema_migrations\b": "migration bookkeeping: a few rows, read at start",
    r"^DELETE FROM status_search$":
        "the one-off search index rebuild empties the shard's index before filling it again",
    r"FROM statuses s LEFT JOIN accounts a ON a.id = s.account_id WHERE s.reblog_of_id IS NULL AND s.id > \?":
        "the one-off search index rebuild reads every stored status, in id order",
    r"^UPDATE statuses SET favourites_count = \(SELECT COUNT\(\*\) FROM favourites f WHERE f\.status_id = statuses\.id\)":
        "the write-back policy's reconcile (StatusCounts.recount): run by hand after Redis lost its memory,"
        " over every status of the shard; with ids it adds AND id IN (...), a primary-key look-up",
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


def scans_of(plan: dict[str, Any]) -> list[str]:
    """Each scan node of a plan, as ``<node type> <index or table>``."""
    own = [f"{plan['Node Type']} {plan.get('Index Name') or plan.get('Relation Name')}"] if "Scan" in plan[
        "Node Type"] else []
    return own + [scan for child in plan.get("Plans", ()) for scan in scans_of(child)]


SEARCH_PAGE = search.QUERY + search.QUERY_ORDER


def search_plan(store: Store, word: str) -> list[str]:
    tsquery = f"{search.words_query([word])} & {search.finder_query(search.LISTED_TOKEN, 'a7', 'm7')}"

    async def explain(conn: asyncpg.Connection) -> list[str]:
        raw = await conn.fetchval("EXPLAIN (FORMAT JSON) " + to_dollar(SEARCH_PAGE), tsquery, 20)
        return scans_of(json.loads(raw)[0]["Plan"])

    return store.run(explain)


def test_a_rare_word_is_looked_up_in_the_gin_index(store: Store) -> None:
    # x7 is in 6 of the filled rows: walking the primary key newest first would read them all.
    assert "Bitmap Index Scan status_search_document" in search_plan(store, "x7")


def test_a_common_word_is_found_newest_first_from_either_index(store: Store) -> None:
    # w7 is in one row of 50: reading newest first stops after about a thousand rows, which the
    # planner may prefer to collecting and sorting all 600 matches. Either way, an index.
    assert search_plan(store, "w7")[-1] in ("Index Scan status_search_pkey",
                                       "Bitmap Index Scan status_search_document")


def test_the_repositories_hold_their_statements_as_constants() -> None:
    assert len(CONSTANTS) >= 5, sorted(CONSTANTS)  # the walk found the modules


@pytest.mark.parametrize("name", sorted(CONSTANTS))
def test_hot_statement_uses_an_index(store: Store, name: str) -> None:
    sql = CONSTANTS[name]
    scans = full_scans(store.plan(sql))
    assert not scans or _whitelisted(sql), (name, sql, scans)


# -- the statements a broad API workload ran ---------------------------------------------------

# The SQLite plan test's families, with the full-text search ones in PostgreSQL's words.
HOT_FAMILIES = {
    **sqlite_plans.HOT_FAMILIES,
    "status full-text search": r"FROM status_search WHERE document @@ .* ORDER BY status_id DESC LIMIT",
    "search: matches among given statuses": r"FROM status_search WHERE document @@ .* AND status_id = ANY",
    "search: re-marking public statuses": r"UPDATE status_search SET document = ",
}
_RECORDED = {PgShard: ("fetch_all", "fetch_one", "execute", "execute_many"),
             PgExecutor: ("fetch_all", "fetch_one", "execute", "execute_many")}


def recording(into: set[str], method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """``method`` (of a shard or a unit of work), noting each statement text it is given."""

    @functools.wraps(method)
    async def record(self: Any, sql: str, *args: Any) -> Any:
        into.add(sql)
        return await method(self, sql, *args)

    return record


@pytest.fixture(scope="module")
def captured(roost_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """Every statement text roost sent to PostgreSQL while the SQLite plan test's API workload
    ran on the cluster shape (asyncpg has no trace hook: the executors are wrapped)."""
    from cluster.test_roost_shape_api import cluster_server

    statements: set[str] = set()
    with pytest.MonkeyPatch.context() as patch:
        for owner, methods in _RECORDED.items():
            for name in methods:
                patch.setattr(owner, name, recording(statements, getattr(owner, name)))
        data_dir: Path = tmp_path_factory.mktemp("plans-workload")
        with cluster_server(roost_cluster, data_dir, celebrity_threshold=3) as srv:
            sqlite_plans.workload(srv)
    return statements


def test_every_captured_statement_uses_an_index(store: Store, captured: set[str]) -> None:
    queries = sorted(sql for sql in captured if reads_rows(sql))
    assert len(queries) > 40, f"the workload ran too few distinct statements: {len(queries)}"
    offenders = []
    for sql in queries:
        scans = full_scans(store.plan(sql))
        if scans and _whitelisted(sql) is None:
            offenders.append(f"{' '.join(sql.split())}\n    -> {scans}")
    assert not offenders, "full scans:\n" + "\n".join(offenders)


@pytest.mark.parametrize("family", sorted(HOT_FAMILIES))
def test_workload_ran_hot_statement(captured: set[str], family: str) -> None:
    pattern = re.compile(HOT_FAMILIES[family], re.I)
    # The SQLite families are written over statements as traced, with their values in place.
    assert any(pattern.search(" ".join(sql.split()).replace("?", "7")) for sql in captured), (
        f"no statement the workload ran matched the {family!r} family: has its SQL changed?")
