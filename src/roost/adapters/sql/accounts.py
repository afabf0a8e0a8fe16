"""The AccountRepository and KeyDirectory of the SQL families (SQLite and PostgreSQL shards).

Accounts live on the shard their id names; directory keys on the shard the hash of
``kind:key`` names, so a look-up by name touches one shard although accounts are
placed by id.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from roost.adapters.sql.keyset import add_clamped
from roost.adapters.sql.units import executor, storable
from roost.domain.entities import Account
from roost.ports.accounts import Counter, KeyKind, NewAccount, PrefixMatch, ProfileChange
from roost.ports.database import Row, ShardedDatabase, Tx

_COLUMNS = (
    "id, username, display_name, note, email, locked, bot, created_at, followers_count,"
    " following_count, statuses_count, last_status_at, indexable, revision"
)
_COUNTERS = frozenset({"followers_count", "following_count", "statuses_count"})
# Every UPDATE of an account raises its revision (see Account.revision).
_NEXT_REVISION = "revision = revision + 1"
_INSERT = (
    "INSERT INTO accounts (id, username, username_lower, display_name, display_name_lower,"
    " email, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)


def _to_account(row: Row) -> Account:
    return Account(
        id=row["id"],
        username=row["username"],
        display_name=row["display_name"],
        note=row["note"],
        email=row["email"],
        locked=bool(row["locked"]),
        bot=bool(row["bot"]),
        created_at_ms=row["created_at"],
        followers_count=row["followers_count"],
        following_count=row["following_count"],
        statuses_count=row["statuses_count"],
        last_status_at_ms=row["last_status_at"],
        indexable=bool(row["indexable"]),
        revision=row["revision"],
    )


def _insert_params(a: NewAccount) -> tuple[Any, ...]:
    return (a.id, a.username, a.username.lower(), a.display_name, a.display_name.lower(),
            a.email, a.password_hash, a.created_at_ms)


def _marks(n: int) -> str:
    return ",".join("?" * n)


class SqlAccounts:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def insert(self, account: NewAccount) -> None:
        await self._db.for_id(account.id).execute(_INSERT, _insert_params(account))

    async def insert_many(self, accounts: Sequence[NewAccount]) -> None:
        by_shard: dict[int, list[tuple[Any, ...]]] = {}
        for a in accounts:
            by_shard.setdefault(self._db.shard_map.physical_for_id(a.id), []).append(_insert_params(a))
        for physical, rows in by_shard.items():
            await self._db.shards[physical].execute_many(_INSERT, rows)

    async def load_shard(self, physical: int, ids: list[int]) -> dict[int, Account]:
        if not ids:  # "IN ()" is SQLite's extension, a syntax error on PostgreSQL
            return {}
        rows = await self._db.shards[physical].fetch_all(
            f"SELECT {_COLUMNS} FROM accounts WHERE id IN ({_marks(len(ids))})", ids
        )
        return {row["id"]: _to_account(row) for row in rows}

    async def get_many(self, ids: Iterable[int]) -> dict[int, Account]:
        by_shard: dict[int, list[int]] = {}
        for account_id in dict.fromkeys(ids):
            by_shard.setdefault(self._db.shard_map.physical_for_id(account_id), []).append(account_id)
        found: dict[int, Account] = {}
        for physical, batch in by_shard.items():
            found.update(await self.load_shard(physical, batch))
        return found

    async def password_hash(self, account_id: int) -> str | None:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT password_hash FROM accounts WHERE id = ?", (account_id,)
        )
        return None if row is None else str(row["password_hash"])

    async def is_indexable(self, account_id: int) -> bool:
        row = await self._db.for_id(account_id).fetch_one(
            "SELECT indexable FROM accounts WHERE id = ?", (account_id,)
        )
        return row is not None and bool(row["indexable"])

    async def prefix_matches(self, prefix: str, limit: int) -> list[PrefixMatch]:
        if not storable(prefix):
            return []
        upper = prefix + "\U0010ffff"
        out: list[PrefixMatch] = []
        for shard in self._db.shards:
            # Two range scans, one per index, rather than an OR that would walk the table.
            for column in ("username_lower", "display_name_lower"):
                rows = await shard.fetch_all(
                    "SELECT id, username_lower, followers_count FROM accounts"
                    f" WHERE {column} >= ? AND {column} < ? LIMIT ?",
                    (prefix, upper, limit),
                )
                out.extend(PrefixMatch(r["id"], r["username_lower"], r["followers_count"]) for r in rows)
        return out

    async def count(self) -> int:
        total = 0
        for shard in self._db.shards:
            row = await shard.fetch_one("SELECT COUNT(*) AS n FROM accounts")
            total += int(row["n"]) if row else 0
        return total

    async def list_all(self) -> list[Account]:
        out: list[Account] = []
        for shard in self._db.shards:
            rows = await shard.fetch_all(f"SELECT {_COLUMNS} FROM accounts ORDER BY id")
            out.extend(_to_account(r) for r in rows)
        return sorted(out, key=lambda a: a.id)

    async def ids_with_followers_at_least(self, threshold: int) -> set[int]:
        found: set[int] = set()
        for shard in self._db.shards:
            rows = await shard.fetch_all("SELECT id FROM accounts WHERE followers_count >= ?", (threshold,))
            found.update(r["id"] for r in rows)
        return found

    async def update_profile(self, tx: Tx, account_id: int, change: ProfileChange) -> None:
        sets: list[str] = []
        params: list[Any] = []
        if change.display_name is not None:
            sets += ["display_name = ?", "display_name_lower = ?"]
            params += [change.display_name, change.display_name.lower()]
        if change.note is not None:
            sets.append("note = ?")
            params.append(change.note)
        for column, flag in (("locked", change.locked), ("bot", change.bot), ("indexable", change.indexable)):
            if flag is not None:
                sets.append(f"{column} = ?")
                params.append(bool(flag))
        if sets:
            sets.append(_NEXT_REVISION)
            await executor(tx).execute(f"UPDATE accounts SET {', '.join(sets)} WHERE id = ?", (*params, account_id))

    async def add_to_counter(
        self, tx: Tx, account_id: int, counter: Counter, delta: int, *, last_status_at_ms: int | None = None
    ) -> None:
        if counter not in _COUNTERS:  # it is spliced into the statement: never anything else
            raise ValueError(counter)
        clamped = f"{add_clamped(counter)}, {_NEXT_REVISION}"
        if last_status_at_ms is None:
            await executor(tx).execute(f"UPDATE accounts SET {clamped} WHERE id = ?", (delta, delta, account_id))
        else:
            await executor(tx).execute(
                f"UPDATE accounts SET {clamped}, last_status_at = ? WHERE id = ?",
                (delta, delta, last_status_at_ms, account_id),
            )

    async def load_in(self, tx: Tx, account_id: int) -> Account | None:
        row = await executor(tx).fetch_one(f"SELECT {_COLUMNS} FROM accounts WHERE id = ?", (account_id,))
        return None if row is None else _to_account(row)

    async def delete(self, account_id: int) -> None:
        await self._db.for_id(account_id).execute("DELETE FROM accounts WHERE id = ?", (account_id,))

    async def recount(self) -> None:
        for shard in self._db.shards:
            async with shard.transaction() as tx:
                await tx.execute(
                    "UPDATE accounts SET"
                    " following_count = (SELECT COUNT(*) FROM following f WHERE f.account_id = accounts.id),"
                    " followers_count = (SELECT COUNT(*) FROM followers f WHERE f.account_id = accounts.id),"
                    " statuses_count = (SELECT COUNT(*) FROM statuses s WHERE s.account_id = accounts.id),"
                    f" {_NEXT_REVISION}"
                )


class SqlKeyDirectory:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def lookup(self, kind: KeyKind, key: str) -> int | None:
        if not storable(key):
            return None
        row = await self._db.for_key(f"{kind}:{key}").fetch_one(
            "SELECT account_id FROM account_directory WHERE kind = ? AND key = ?", (kind, key)
        )
        return None if row is None else int(row["account_id"])

    async def claim(self, kind: KeyKind, key: str, account_id: int) -> bool:
        changed = await self._db.for_key(f"{kind}:{key}").execute(
            "INSERT INTO account_directory (kind, key, account_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (kind, key, account_id),
        )
        return changed == 1

    async def claim_many(self, claims: Sequence[tuple[KeyKind, str, int]]) -> set[tuple[KeyKind, str]]:
        by_shard: dict[int, list[tuple[KeyKind, str, int]]] = {}
        for kind, key, account_id in claims:
            by_shard.setdefault(self._db.shard_map.physical_for_key(f"{kind}:{key}"), []).append(
                (kind, key, account_id)
            )
        held: set[tuple[KeyKind, str]] = set()
        for physical, batch in by_shard.items():
            async with self._db.shards[physical].transaction() as tx:
                # In key order: two processes claiming overlapping keys on an engine with
                # row locks (PostgreSQL) then wait on each other in one order, never deadlock.
                for kind, key, account_id in sorted(batch):
                    # Row by row inside one transaction: executemany would not tell
                    # which rows the constraint refused.
                    if await tx.execute(
                        "INSERT INTO account_directory (kind, key, account_id) VALUES (?, ?, ?)"
                        " ON CONFLICT DO NOTHING",
                        (kind, key, account_id),
                    ):
                        held.add((kind, key))
        return held

    async def release(self, kind: KeyKind, key: str) -> None:
        if not storable(key):
            return
        await self._db.for_key(f"{kind}:{key}").execute(
            "DELETE FROM account_directory WHERE kind = ? AND key = ?", (kind, key)
        )
