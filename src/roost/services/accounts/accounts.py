"""Accounts: registration, profiles, look-ups and counters, with cache-aside reads."""

from __future__ import annotations

import asyncio
import math
import re
import secrets
from collections.abc import Iterable
from typing import cast

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from roost.domain.content import USERNAME_RE
from roost.domain.entities import Account
from roost.domain.ids import now_ms
from roost.domain.placements import HashPlacement, Placement, PlacementRequest, UnknownRegion
from roost.domain.usernames import is_reserved
from roost.errors import NotFound, RateLimited, Unprocessable
from roost.ports.accounts import Counter, KeyKind, NewAccount, ProfileChange
from roost.ports.database import Tx
from roost.services.accounts.login_throttle import LoginThrottle
from roost.services.cache_aside import get_by_ids, get_or_load
from roost.services.context import Backends
from roost.services.outbox import Outbox
from roost.services.text_input import refuse_nul_in
from roost.services.write_through import forget_deleted, write_through

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_DISPLAY_NAME = 30
MAX_NOTE = 500
_COUNTERS = frozenset({"followers_count", "following_count", "statuses_count"})


def validation_error(field: str, code: str, description: str) -> Unprocessable:
    return Unprocessable(
        f"Validation failed: {field.replace('_', ' ').capitalize()} {description}",
        details={field: [{"error": code, "description": description}]},
    )


class AccountsService:
    def __init__(self, backends: Backends, outbox: Outbox, hasher: PasswordHasher | None = None,
                 placement: Placement | None = None) -> None:
        self._b = backends
        self._outbox = outbox
        self._db = backends.db
        self._cache = backends.cache
        self._accounts = backends.repos.accounts
        self._keys = backends.repos.keys
        self._hasher = hasher or PasswordHasher()
        self._placement = placement or backends.placement or HashPlacement(self._db.shard_map)
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
        celebrities = set(
            await self._accounts.ids_with_followers_at_least(self._b.settings.celebrity_threshold)
        )
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
        region: str | None = None,
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

        # Placement (hash of a random key by default; roost/domain/placements.py) picks the
        # logical shard, which is then carried in the id itself.
        logical = self._logical_for(PlacementRequest(username, secrets.randbits(62), region))
        account_id = self._b.ids.next_id(logical)
        # Claim the unique keys first: a concurrent registration of the same name
        # loses on the primary key, and no account row exists without its keys.
        if not await self._directory_claim("username", username.lower(), account_id):
            raise validation_error("username", "ERR_TAKEN", "is already taken")
        if not await self._directory_claim("email", email, account_id):
            await self._directory_release("username", username.lower())
            raise validation_error("email", "ERR_TAKEN", "is already taken")
        display = display_name.strip()[:MAX_DISPLAY_NAME]
        await self._accounts.insert(NewAccount(account_id, username, email, password_hash, display, now_ms()))
        account = await self.get(account_id)
        assert account is not None
        return account

    def _logical_for(self, account: PlacementRequest) -> int:
        """The new account's logical shard, by the configured placement (hash by default)."""
        try:
            return self._placement.logical_for(account)
        except UnknownRegion as exc:
            raise validation_error("region", "ERR_INCLUSION", f"is not one of {', '.join(exc.known)}") from None

    async def bulk_register(
        self, people: list[tuple[str, str, str]], password_hash: str
    ) -> list[Account]:
        """Create many accounts at once for imports and benchmark seeding.

        ``people`` holds (username, email, display name); every account gets the
        same already-hashed password. Same validation and placement as
        ``register``, but one transaction per shard instead of one per row.
        Taken or invalid names are skipped.
        """
        pending: list[NewAccount] = []
        claims: list[tuple[KeyKind, str, int]] = []
        seen: set[str] = set()
        for username, email, display in people:
            email = email.strip().lower()
            if not USERNAME_RE.match(username) or not EMAIL_RE.match(email):
                continue
            if username.lower() in seen or email in seen:
                continue
            seen.update((username.lower(), email))
            account_id = self._b.ids.next_id(self._logical_for(PlacementRequest(username, secrets.randbits(62))))
            display = display.strip()[:MAX_DISPLAY_NAME]
            pending.append(NewAccount(account_id, username, email, password_hash, display, now_ms()))
            claims += [("username", username.lower(), account_id), ("email", email, account_id)]
        # As in ``register``: the keys first, and an account only where both are its own
        # (a key someone else holds - in this process or another - skips the account).
        held = await self._keys.claim_many(claims)
        accepted: list[NewAccount] = []
        for account in pending:
            keys: tuple[tuple[KeyKind, str], ...] = (("username", account.username.lower()), ("email", account.email))
            if all(k in held for k in keys):
                accepted.append(account)
            else:
                for kind, key in keys:
                    if (kind, key) in held:
                        await self._directory_release(kind, key)
        await self._accounts.insert_many(accepted)
        found = await self.get_many([a.id for a in accepted])
        return [found[a.id] for a in accepted if a.id in found]

    async def recount(self) -> None:
        """Recompute every account's follow and status counters from the stored rows
        (after a bulk import), and the set of celebrities."""
        await self._accounts.recount()
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
        known = None if account_id is None else await self._accounts.password_hash(account_id)
        stored = known if known is not None else await self._unknown_login_hash()
        try:
            await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if known is None or account_id is None:
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
        return await get_by_ids(self._cache, "a", ids, self._db.shard_map, self._accounts.load_shard,
                                revisioned=True)

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
        scores: dict[int, tuple[int, int]] = {}
        for match in await self._accounts.prefix_matches(prefix, limit + offset):
            scores[match.id] = (0 if match.username_lower == prefix else 1, -match.followers_count)
        ranked = sorted(scores, key=lambda i: (*scores[i], i))[offset : offset + limit]
        accounts = await self.get_many(ranked)
        return [accounts[i] for i in ranked if i in accounts]

    async def count(self) -> int:
        return await self._accounts.count()

    async def list_all(self) -> list[Account]:
        return await self._accounts.list_all()

    # -- writes ----------------------------------------------------------------------

    async def update_credentials(
        self, account_id: int, display_name: str | None = None, note: str | None = None,
        locked: bool | None = None, bot: bool | None = None, indexable: bool | None = None,
    ) -> Account:
        refuse_nul_in(display_name=display_name, note=note)
        if display_name is not None and len(display_name) > MAX_DISPLAY_NAME:
            raise validation_error("display_name", "ERR_TOO_LONG", f"is too long (maximum is {MAX_DISPLAY_NAME} characters)")
        if note is not None and len(note) > MAX_NOTE:
            raise validation_error("note", "ERR_TOO_LONG", f"is too long (maximum is {MAX_NOTE} characters)")
        rescope = indexable is not None and indexable != await self.is_indexable(account_id)
        change = ProfileChange(display_name, note, locked, bot, bool(indexable) if rescope else None)
        if not change.is_empty():
            shard = self._db.for_id(account_id)
            async with shard.transaction() as tx:
                await self._accounts.update_profile(tx, account_id, change)
                written = await self._accounts.load_in(tx, account_id)
                if rescope:
                    # The search index marks which public statuses anyone may find; the
                    # indexer re-marks this account's statuses from the log.
                    await self._outbox.stage(tx, account_id, {"type": "account.indexable", "account_id": account_id})
            await write_through(self._cache, "a", written)  # every process sees the profile at once
            if rescope:
                await self._outbox.flush(shard)
        return await self.require(account_id)

    async def is_indexable(self, account_id: int) -> bool:
        """Read from the database, not the cache: the indexer must not mark statuses from
        a stale copy (the event that follows a change re-marks them anyway)."""
        return await self._accounts.is_indexable(account_id)

    async def bump_in(
        self, tx: Tx, account_id: int, counter: str, delta: int, *, last_status: bool = False
    ) -> Account | None:
        """Change a counter inside the caller's transaction (same shard as ``account_id``),
        so the counter commits together with the row it counts. Returns the account as
        the transaction left it: pass it to ``counters_changed`` after the commit."""
        if counter not in _COUNTERS:
            raise ValueError(counter)
        await self._accounts.add_to_counter(
            tx, account_id, cast(Counter, counter), delta, last_status_at_ms=now_ms() if last_status else None
        )
        return await self._accounts.load_in(tx, account_id)

    async def counters_changed(self, account_id: int, written: Account | None, *, followers: bool = False) -> None:
        """Write the account ``bump_in`` returned through to the cache; when its follower
        count moved, re-check whether it is a celebrity. A demotion is published, since
        its followers' home timelines lack the statuses it posted while it was merged at
        read time."""
        await write_through(self._cache, "a", written)
        if not followers:
            return
        account = written if written is not None else await self.get(account_id)
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
            written = await self.bump_in(tx, account_id, counter, delta)
        await self.counters_changed(account_id, written, followers=counter == "followers_count")

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
        revoked = await self._b.repos.oauth.delete_tokens_of(account_id)
        await self._cache.delete(*(f"t:{token}" for token in revoked))
        await self._accounts.delete(account_id)
        await forget_deleted(self._cache, "a", account_id)
        await self._celebrities.remove(account_id)
        return account

    # -- the key directory -----------------------------------------------------------

    async def _directory_get(self, kind: KeyKind, key: str) -> int | None:
        return await get_or_load(self._cache, f"d:{kind}:{key}", lambda: self._directory_load(kind, key))

    async def _directory_load(self, kind: KeyKind, key: str) -> int | None:
        return await self._keys.lookup(kind, key)

    async def _directory_claim(self, kind: KeyKind, key: str, account_id: int) -> bool:
        return await self._keys.claim(kind, key, account_id)

    async def _directory_release(self, kind: KeyKind, key: str) -> None:
        await self._keys.release(kind, key)
        await self._cache.delete(f"d:{kind}:{key}")
