"""The PostgreSQL adapter's pure parts: placeholders, command tags, tokens, fault kinds."""

from __future__ import annotations

import asyncpg
import pytest
from asyncpg import exceptions as pg

from roost.adapters.postgres.consistency import ReadAfter, int_to_lsn, lsn_to_int, reading_after
from roost.adapters.postgres.consistency import current as current_token
from roost.adapters.postgres.faults import translate
from roost.adapters.postgres.sql import rowcount, to_dollar
from roost.errors import Conflict, InsufficientStorage, Unavailable


@pytest.mark.parametrize(("sql", "expected"), [
    ("SELECT * FROM t WHERE a = ? AND b IN (?, ?)", "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3)"),
    ("SELECT '?' AS q, \"we?rd\" FROM t WHERE x = ?", "SELECT '?' AS q, \"we?rd\" FROM t WHERE x = $1"),
    ("SELECT 'it''s ?' WHERE a = ?", "SELECT 'it''s ?' WHERE a = $1"),
    ("SELECT 1 -- why?\nWHERE a = ?", "SELECT 1 -- why?\nWHERE a = $1"),
    ("SELECT /* ? */ ? ", "SELECT /* ? */ $1 "),
    ("DO $$ BEGIN PERFORM '?'; END $$; SELECT ?", "DO $$ BEGIN PERFORM '?'; END $$; SELECT $1"),
    ("SELECT $f$ ? $f$, ?", "SELECT $f$ ? $f$, $1"),
    ("INSERT INTO t (a) VALUES (?) ON CONFLICT DO NOTHING RETURNING id",
     "INSERT INTO t (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id"),
])
def test_placeholders_are_numbered_outside_quotes_and_comments(sql: str, expected: str) -> None:
    assert to_dollar(sql) == expected


def test_a_statement_text_is_translated_once() -> None:
    sql = "SELECT id FROM cached_once WHERE id = ?"
    to_dollar(sql)
    hits = to_dollar.cache_info().hits
    to_dollar(sql)
    assert to_dollar.cache_info().hits == hits + 1


@pytest.mark.parametrize(("tag", "rows"), [
    ("INSERT 0 3", 3), ("UPDATE 2", 2), ("DELETE 0", 0), ("CREATE TABLE", 0), ("SELECT 7", 7)])
def test_rowcount_from_command_tags(tag: str, rows: int) -> None:
    assert rowcount(tag) == rows


def test_read_after_keeps_the_highest_position_per_shard_and_travels_as_text() -> None:
    token = ReadAfter()
    token.note(1, lsn_to_int("0/3000060"))
    token.note(1, lsn_to_int("0/3000010"))  # an older commit never lowers the bar
    token.note(0, lsn_to_int("1A/FF"))
    assert token.to_text() == "0:1A/FF,1:0/3000060"
    again = ReadAfter.from_text(token.to_text())
    assert again.positions == token.positions
    assert int_to_lsn(lsn_to_int("16/B374D848")) == "16/B374D848"
    again.forget_if_replayed(1, lsn_to_int("0/3000060"))
    assert again.needs(1) is None and again.needs(0) == lsn_to_int("1A/FF")
    with pytest.raises(ValueError):
        ReadAfter.from_text("0:not-an-lsn")


def test_reading_after_installs_the_token_for_the_block_only() -> None:
    token = ReadAfter()
    assert current_token.get() is None
    with reading_after(token):
        assert current_token.get() is token
    assert current_token.get() is None


def _pg(kind: type[pg.PostgresError], **fields: str) -> pg.PostgresError:
    return kind.new({"M": "from the server", "C": kind.sqlstate, **fields})


@pytest.mark.parametrize("exc", [
    ConnectionRefusedError(111, "Connection refused"),
    ConnectionResetError(104, "reset"),
    TimeoutError(),
    asyncpg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
    # What a pooled connection the server terminated mid-call answers next (a node stopping).
    pg.InternalClientError("cannot switch to state 11; another operation (2) is in progress"),
])
def test_client_side_failures_are_unavailable_with_retry_after(exc: BaseException) -> None:
    translated = translate(exc)
    assert isinstance(translated, Unavailable)
    assert int(translated.extra["headers"]["Retry-After"]) > 0


@pytest.mark.parametrize(("kind", "retry_after"), [
    (pg.TooManyConnectionsError, "1"), (pg.CannotConnectNowError, "1"),
    (pg.AdminShutdownError, "5"), (pg.CrashShutdownError, "5"),
    (pg.ConnectionDoesNotExistError, "5"), (pg.ConnectionFailureError, "5"),
    (pg.ReadOnlySQLTransactionError, "5"),
    (pg.SerializationError, "1"), (pg.DeadlockDetectedError, "1"),
    (pg.QueryCanceledError, "2"),
])
def test_server_failures_are_unavailable(kind: type[pg.PostgresError], retry_after: str) -> None:
    translated = translate(_pg(kind))
    assert isinstance(translated, Unavailable)
    assert translated.extra["headers"] == {"Retry-After": retry_after}


def test_unique_violation_is_a_conflict_naming_the_constraint() -> None:
    translated = translate(_pg(pg.UniqueViolationError, n="follows_pkey"))
    assert isinstance(translated, Conflict) and translated.status_code == 409
    assert translated.constraint == "follows_pkey"
    assert "constraint" not in translated.extra  # never sent to the client


def test_a_full_disk_is_507() -> None:
    assert isinstance(translate(_pg(pg.DiskFullError)), InsufficientStorage)


@pytest.mark.parametrize("exc", [
    _pg(pg.PostgresSyntaxError), _pg(pg.ForeignKeyViolationError), _pg(pg.NotNullViolationError),
    asyncpg.InterfaceError("the server expects 2 arguments for this query, 1 was passed"),
    ValueError("roost's own bug"),
])
def test_roosts_own_errors_pass_through_unchanged(exc: BaseException) -> None:
    assert translate(exc) is exc
