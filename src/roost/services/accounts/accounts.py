"""Accounts: registration, profiles, look-ups and counters, with cache-aside reads."""

from __future__ import annotations

import asyncio
import math
import re
import secrets
from collections.abc import Iterable
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from roost.domain.content import USERNAME_RE
from roost.domain.entities import Account
from roost.domain.ids import now_ms
from roost.domain.usernames import is_reserved
from roost.errors import NotFound, RateLimited, Unprocessable
from roost.ports.database import Executor, Row
from roost.services.accounts.login_throttle import LoginThrottle
from roost.services.batches import execute_per_shard
from roost.services.cache_aside import get_by_ids, get_or_load
from roost.services.context import Backends
from roost.services.counters import add_clamped
from roost.services.outbox import Outbox
from roost.services.text_input import refuse_nul_in

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
_COLUMNS = (
    "id, username, display_name, note, email, locked, bot, created_at, followers_count,"
    " following_count, statuses_count, last_status_at, indexable"
)
_COUNTERS = frozenset({"followers_count", "following_count", "statuses_count"})


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
    )


def validation_error(field: str, code: str, description: str) -> Unprocessable:
    return Unprocessable(
        f"Validation failed: {field.replace('_', ' ').capitalize()} {description}",
        details={field: [{"error": code, "description": description}]},
    )


class AccountsService:
    def __init__(self, backends: Backends, outbox: Outbox, hasher: PasswordHasher | None = None) -> None:
        self._b = backends
        self._outbox = outbox
        self._db = backends.db
        self._cache = backends.cache
        self._hasher = hasher or PasswordHasher()
        self._celebrities = backends.celebrities  # shared by every process (issue #9)
        self.celebrity_count = 0  # as last read here (a metric)
        settings = backends.settings
        self.login_throttle = LoginThrottle(
            settings.login_failures_before_lockout,
            settings.login_lockout_base_seconds,
            settings.login_lockout_max_seconds,
            settings.login_failures_forget_seconds,
        )
        self._dummy_hash: str | None = None

    async def start(self) -> None:
        await self._unknown_login_hash()
        threshold = self._b.settings.celebrity_threshold
        celebrities: set[int] = set()
        for shard in self._db.shards:
            rows = await shard.fetch_all(
                "SELECT id FROM accounts WHERE followers_count >= ?", (threshold,)
            )
            celebrities.update(r["id"] for r in rows)
        await self._celebrities.replace(celebrities)
        self.celebrity_count = len(celebrities)

    # -- registration and credentials ------------------------------------------------

    async def hash_password(self, password: str) -> str:
        # argon2 is deliberately slow; run it off the event loop (the C code releases the GIL).
        return await asyncio.to_thread(self._hasher.hash, password)

    async def register(
        self,
        username: str,
        email: str,
        password: str | None = None,
        *,
        password_hash: str | None = None,
        display_name: str = "",
        allow_reserved: bool = False,
    ) -> Account:
        """A new account. ``allow_reserved`` lets an operator (``roost accounts create
        --allow-reserved``) take a reserved name such as ``admin``; the API never does."""
        refuse_nul_in(username=username, email=email, display_name=display_name)
        username = username.strip() if isinstance(username, str) else ""
        email = email.strip().lower() if isinstance(email, str) else ""
        if not USERNAME_RE.match(username):
            raise validation_error(
                "username", "ERR_INVALID", "must contain only letters, numbers and underscores (max 30)"
            )
        if not allow_reserved and is_reserved(username):
            raise validation_error("username", "ERR_RESERVED", "is reserved")
        if not EMAIL_RE.match(email):
            raise validation_error("email", "ERR_INVALID", "is invalid")
        if password_hash is None and (not isinstance(password, str) or not 8 <= len(password) <= 72):
            raise validation_error("password", "ERR_TOO_SHORT", "must be 8 to 72 characters")
        if await self._directory_get("username", username.lower()) is not None:
            raise validation_error("username", "ERR_TAKEN", "is already taken")
        if await self._directory_get("email", email) is not None:
            raise validation_error("email", "ERR_TAKEN", "is already taken")
        if password_hash is None:
            assert password is not None
            # Hashed only once the cheap checks pass: argon2 is the costly step.
            password_hash = await self.hash_password(password)

        # Placement by hash: a random key spreads accounts evenly over logical shards,
        # and the chosen shard is then carried in the id itself.
        logical = self._db.shard_map.logical_for_key(secrets.randbits(62))
        account_id = self._b.ids.next_id(logical)
        # Claim the unique keys first: a concurrent registration of the same name
        # loses on the primary key, and no account row exists without its keys.
        if not await self._directory_claim("username", username.lower(), account_id):
            raise validation_error("username", "ERR_TAKEN", "is already taken")
        if not await self._directory_claim("email", email, account_id):
            await self._directory_release("username", username.lower())
            raise validation_error("email", "ERR_TAKEN", "is already taken")
        display = display_name.strip()[:MAX_DISPLAY_NAME]
        await self._db.for_id(account_id).execute(
            "INSERT INTO accounts (id, username, username_lower, display_name, display_name_lower,"
            " email, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (account_id, username, username.lower(), display, display.lower(), email,
             password_hash, now_ms()),
        )
        account = await self.get(account_id)
        assert account is not None
        return account

    async def bulk_register(
        self, people: list[tuple[str, str, str]], password_hash: str
    ) -> list[Account]:
        """Create many accounts at once for imports and benchmark seeding.

        ``people`` holds (username, email, display name); every account gets the
        same already-hashed password. Same validation and placement as
        ``register``, but one transaction per shard instead of one per row.
        Taken or invalid names are skipped.
        """
        rows: dict[int, list[tuple[object, ...]]] = {}
        keys: dict[int, list[tuple[str, str, int]]] = {}
        seen: set[str] = set()
        created: list[int] = []
        for username, email, display in people:
            email = email.strip().lower()
            if not USERNAME_RE.match(username) or not EMAIL_RE.match(email):
                continue
            if username.lower() in seen or email in seen:
                continue
            if await self._directory_get("username", username.lower()) is not None:
                continue
            seen.update((username.lower(), email))
            account_id = self._b.ids.next_id(self._db.shard_map.logical_for_key(secrets.randbits(62)))
            created.append(account_id)
            display = display.strip()[:MAX_DISPLAY_NAME]
            rows.setdefault(self._db.shard_map.physical_for_id(account_id), []).append(
                (account_id, username, username.lower(), display, display.lower(), email,
                 password_hash, now_ms())
            )
            for kind, key in (("username", username.lower()), ("email", email)):
                keys.setdefault(self._db.shard_map.physical_for_key(f"{kind}:{key}"), []).append(
                    (kind, key, account_id)
                )
        await execute_per_shard(
            self._db,
            "INSERT INTO account_directory (kind, key, account_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            keys,
        )
        await execute_per_shard(
            self._db,
            "INSERT INTO accounts (id, username, username_lower, display_name, display_name_lower,"
            " email, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        found = await self.get_many(created)
        return [found[i] for i in created if i in found]

    async def recount(self) -> None:
        """Recompute every account's follow and status counters from the stored rows
        (after a bulk import), and the set of celebrities."""
        for shard in self._db.shards:
            async with shard.transaction() as tx:
                await tx.execute(
                    "UPDATE accounts SET"
                    " following_count = (SELECT COUNT(*) FROM following f WHERE f.account_id = accounts.id),"
                    " followers_count = (SELECT COUNT(*) FROM followers f WHERE f.account_id = accounts.id),"
                    " statuses_count = (SELECT COUNT(*) FROM statuses s WHERE s.account_id = accounts.id)"
                )
        await self.start()

    async def authenticate(self, login: str, password: str) -> Account | None:
        """The account for an e-mail (or username) and password; None if they do not match.

        Costs one argon2 verification whether or not the login exists, so the time taken
        does not tell which names and e-mails are registered. Raises RateLimited while the
        login is locked after repeated failures (see LoginThrottle)."""
        login = login.strip().lower()
        wait = self.login_throttle.begin(login)
        if wait is not None:
            raise RateLimited(headers={"Retry-After": str(max(1, math.ceil(wait)))})
        account_id = await self._directory_get("email" if "@" in login else "username", login)
        row = None
        if account_id is not None:
            row = await self._db.for_id(account_id).fetch_one(
                "SELECT password_hash FROM accounts WHERE id = ?", (account_id,)
            )
        stored = row["password_hash"] if row is not None else await self._unknown_login_hash()
        try:
            await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or account_id is None:
            return None  # the password matched the stand-in hash: still nobody
        self.login_throttle.succeeded(login)
        return await self.get(account_id)

    async def _unknown_login_hash(self) -> str:
        """A hash of a random password with the hasher's own parameters, verified against
        for logins that match no account (made once, at start)."""
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash_password(secrets.token_urlsafe(24))
        return self._dummy_hash

    # -- reads -----------------------------------------------------------------------

    async def get(self, account_id: int) -> Account | None:
        return (await self.get_many([account_id])).get(account_id)

    async def require(self, account_id: int) -> Account:
        account = await self.get(account_id)
        if account is None:
            raise NotFound()
        return account

    async def get_many(self, ids: Iterable[int]) -> dict[int, Account]:
        """Accounts by id, cache-aside; misses are batched into one query per shard."""
        return await get_by_ids(self._cache, "a", ids, self._db.shard_map, self._load)

    async def _load(self, physical: int, ids: list[int]) -> dict[int, Account]:
        marks = ",".join("?" * len(ids))
        rows = await self._db.shards[physical].fetch_all(
            f"SELECT {_COLUMNS} FROM accounts WHERE id IN ({marks})", ids
        )
        return {row["id"]: _to_account(row) for row in rows}

    async def lookup(self, username: str) -> Account:
        name = username.strip().lstrip("@").split("@", 1)[0].lower()
        account_id = await self._directory_get("username", name)
        account = None if account_id is None else await self.get(account_id)
        if account is None:
            raise NotFound()
        return account

    async def search(self, query: str, limit: int, offset: int = 0) -> list[Account]:
        """Accounts whose username or display name starts with ``query`` (scatter-gather)."""
        prefix = query.strip().lstrip("@").split("@", 1)[0].lower()
        if not prefix:
            return []
        upper = prefix + "\U0010ffff"
        scores: dict[int, tuple[int, int]] = {}
        for shard in self._db.shards:
            rows = await shard.fetch_all(
                "SELECT id, username_lower, followers_count FROM accounts"
                " WHERE username_lower >= ? AND username_lower < ? LIMIT ?",
                (prefix, upper, limit + offset),
            )
            rows += await shard.fetch_all(
                "SELECT id, username_lower, followers_count FROM accounts"
                " WHERE display_name_lower >= ? AND display_name_lower < ? LIMIT ?",
                (prefix, upper, limit + offset),
            )
            for row in rows:
                exact = 0 if row["username_lower"] == prefix else 1
                scores[row["id"]] = (exact, -row["followers_count"])
        ranked = sorted(scores, key=lambda i: (*scores[i], i))[offset : offset + limit]
        accounts = await self.get_many(ranked)
        return [accounts[i] for i in ranked if i in accounts]

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

    # -- writes ----------------------------------------------------------------------

    async def update_credentials(
        self, account_id: int, display_name: str | None = None, note: str | None = None,
        locked: bool | None = None, bot: bool | None = None, indexable: bool | None = None,
    ) -> Account:
        refuse_nul_in(display_name=display_name, note=note)
        sets: list[str] = []
        params: list[Any] = []
        if display_name is not None:
            if len(display_name) > MAX_DISPLAY_NAME:
                raise validation_error("display_name", "ERR_TOO_LONG", f"is too long (maximum is {MAX_DISPLAY_NAME} characters)")
            sets += ["display_name = ?", "display_name_lower = ?"]
            params += [display_name, display_name.lower()]
        if note is not None:
            if len(note) > MAX_NOTE:
                raise validation_error("note", "ERR_TOO_LONG", f"is too long (maximum is {MAX_NOTE} characters)")
            sets.append("note = ?")
            params.append(note)
        if locked is not None:
            sets.append("locked = ?")
            params.append(int(locked))
        if bot is not None:
            sets.append("bot = ?")
            params.append(int(bot))
        rescope = indexable is not None and indexable != await self.is_indexable(account_id)
        if rescope:
            sets.append("indexable = ?")
            params.append(int(bool(indexable)))
        if sets:
            shard = self._db.for_id(account_id)
            async with shard.transaction() as tx:
                await tx.execute(f"UPDATE accounts SET {', '.join(sets)} WHERE id = ?", (*params, account_id))
                if rescope:
                    # The search index marks which public statuses anyone may find; the
                    # indexer re-marks this account's statuses from the log.
                    await self._outbox.stage(tx, account_id, {"type": "account.indexable", "account_id": account_id})
            await self._cache.delete_records("a", account_id)
            if rescope:
                await self._outbox.flush(shard)
        return await self.require(account_id)

    async def is_indexable(self, account_id: int) -> bool:
        """Read from the database, not the cache: the indexer must not mark statuses from
        a stale copy (the event that follows a change re-marks them anyway)."""
        row = await self._db.for_id(account_id).fetch_one("SELECT indexable FROM accounts WHERE id = ?", (account_id,))
        return row is not None and bool(row["indexable"])

    async def bump_in(
        self, tx: Executor, account_id: int, counter: str, delta: int, *, last_status: bool = False
    ) -> None:
        """Change a counter inside the caller's transaction (same shard as ``account_id``),
        so the counter commits together with the row it counts. Call
        ``counters_changed`` after the commit."""
        if counter not in _COUNTERS:
            raise ValueError(counter)
        extra = ", last_status_at = ?" if last_status else ""
        params: tuple[Any, ...] = (delta, delta)
        params += (now_ms(), account_id) if last_status else (account_id,)
        await tx.execute(
            f"UPDATE accounts SET {add_clamped(counter)}{extra} WHERE id = ?",
            params,
        )

    async def counters_changed(self, account_id: int, *, followers: bool = False) -> None:
        """Drop the cached account; when its follower count moved, re-check whether it is
        a celebrity. A demotion is published, since its followers' home timelines lack
        the statuses it posted while it was merged at read time."""
        await self._cache.delete_records("a", account_id)
        if not followers:
            return
        account = await self.get(account_id)
        if account is None:
            return
        if account.followers_count >= self._b.settings.celebrity_threshold:
            await self._celebrities.add(account_id)
        elif await self._celebrities.remove(account_id):
            # Only the process whose removal took it out publishes the demotion.
            shard = self._db.for_id(account_id)
            async with shard.transaction() as tx:
                await self._outbox.stage(tx, account_id, {"type": "account.demoted", "account_id": account_id})
            await self._outbox.flush(shard)

    async def bump(self, account_id: int, counter: str, delta: int) -> None:
        """Change a counter in a transaction of its own."""
        async with self._db.for_id(account_id).transaction() as tx:
            await self.bump_in(tx, account_id, counter, delta)
        await self.counters_changed(account_id, followers=counter == "followers_count")

    async def is_celebrity(self, account_id: int) -> bool:
        return await self._celebrities.contains(account_id)

    async def celebrities(self) -> frozenset[int]:
        """The accounts merged at read time."""
        members = await self._celebrities.members()
        self.celebrity_count = len(members)
        return members

    async def delete(self, account_id: int) -> Account:
        """Remove an account and its keys and tokens (its content is removed by the caller)."""
        account = await self.require(account_id)
        await self._directory_release("username", account.username.lower())
        await self._directory_release("email", account.email)
        for shard in self._db.shards:
            rows = await shard.fetch_all("SELECT token FROM tokens WHERE account_id = ?", (account_id,))
            await shard.execute("DELETE FROM tokens WHERE account_id = ?", (account_id,))
            await self._cache.delete(*(f"t:{r['token']}" for r in rows))
        await self._db.for_id(account_id).execute("DELETE FROM accounts WHERE id = ?", (account_id,))
        await self._cache.delete_records("a", account_id)
        await self._celebrities.remove(account_id)
        return account

    # -- the key directory -----------------------------------------------------------

    async def _directory_get(self, kind: str, key: str) -> int | None:
        return await get_or_load(self._cache, f"d:{kind}:{key}", lambda: self._directory_load(kind, key))

    async def _directory_load(self, kind: str, key: str) -> int | None:
        row = await self._db.for_key(f"{kind}:{key}").fetch_one(
            "SELECT account_id FROM account_directory WHERE kind = ? AND key = ?", (kind, key)
        )
        return None if row is None else int(row["account_id"])

    async def _directory_claim(self, kind: str, key: str, account_id: int) -> bool:
        changed = await self._db.for_key(f"{kind}:{key}").execute(
            "INSERT INTO account_directory (kind, key, account_id) VALUES (?, ?, ?)"
            " ON CONFLICT DO NOTHING",
            (kind, key, account_id),
        )
        return changed == 1

    async def _directory_release(self, kind: str, key: str) -> None:
        await self._db.for_key(f"{kind}:{key}").execute(
            "DELETE FROM account_directory WHERE kind = ? AND key = ?", (kind, key)
        )
        await self._cache.delete(f"d:{kind}:{key}")
