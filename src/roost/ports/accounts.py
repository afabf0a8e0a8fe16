"""Repository ports of the accounts area: accounts, the key directory, the follow
graph, follow requests and OAuth (apps, tokens, authorization codes).

Write methods take the ``Tx`` to write in (a unit of work on the shard the row
lives on, so a counter, an outbox event and the row it belongs to commit together);
read methods take ids or keys and route to the shard themselves. Uniqueness (one
account per username and e-mail, one follow per pair, one request per pair) rests
on each engine's constraints, never on a lock held by one process: the methods that
may lose a race say so by returning False.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from roost.domain.entities import Account, Application, Token
from roost.domain.pagination import Page
from roost.ports.database import Tx

Counter = Literal["followers_count", "following_count", "statuses_count"]
Direction = Literal["followers", "following"]
KeyKind = Literal["username", "email"]


@dataclass(frozen=True, slots=True)
class NewAccount:
    """An account about to be stored (its id already carries its shard)."""

    id: int
    username: str
    email: str
    password_hash: str
    display_name: str
    created_at_ms: int


@dataclass(frozen=True, slots=True)
class ProfileChange:
    """The profile fields to overwrite; None leaves a field as it is."""

    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    indexable: bool | None = None

    def is_empty(self) -> bool:
        return all(v is None for v in (self.display_name, self.note, self.locked, self.bot, self.indexable))


@dataclass(frozen=True, slots=True)
class PrefixMatch:
    """An account whose username or display name starts with a searched prefix."""

    id: int
    username_lower: str
    followers_count: int


@dataclass(frozen=True, slots=True)
class FollowOptions:
    show_reblogs: bool
    notify: bool


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    code: str
    application_id: int
    account_id: int
    scopes: tuple[str, ...]
    redirect_uri: str
    expires_at_ms: int
    code_challenge: str | None = None
    code_challenge_method: str | None = None


class AccountRepository(Protocol):
    async def insert(self, account: NewAccount) -> None:
        """Store one account (its keys are claimed in the KeyDirectory first)."""
        ...

    async def insert_many(self, accounts: Sequence[NewAccount]) -> None:
        """Store many accounts, one transaction per physical shard (imports)."""
        ...

    async def load_shard(self, physical: int, ids: list[int]) -> dict[int, Account]:
        """The accounts among ``ids`` stored on physical shard ``physical`` (one query):
        the loader cache-aside reads call with the misses of one shard."""
        ...

    async def get_many(self, ids: Iterable[int]) -> dict[int, Account]:
        """Accounts by id, one query per physical shard."""
        ...

    async def password_hash(self, account_id: int) -> str | None: ...

    async def is_indexable(self, account_id: int) -> bool:
        """Read from the store itself (never a cache)."""
        ...

    async def prefix_matches(self, prefix: str, limit: int) -> list[PrefixMatch]:
        """Up to ``limit`` accounts per shard and per field whose lower-cased username or
        display name starts with ``prefix`` (scatter-gather over every shard)."""
        ...

    async def count(self) -> int: ...

    async def list_all(self) -> list[Account]:
        """Every account, by id (operator commands)."""
        ...

    async def ids_with_followers_at_least(self, threshold: int) -> set[int]: ...

    async def update_profile(self, tx: Tx, account_id: int, change: ProfileChange) -> None:
        """Overwrite the given fields; like every write to an account row (counters and
        ``recount`` too), raise its ``revision`` by one in the same statement."""
        ...

    async def load_in(self, tx: Tx, account_id: int) -> Account | None:
        """The account as ``tx`` sees it (on its shard's primary, with this unit of work's
        own writes): write-through caches what a write left, with its revision."""
        ...

    async def add_to_counter(
        self, tx: Tx, account_id: int, counter: Counter, delta: int, *, last_status_at_ms: int | None = None
    ) -> None:
        """Add ``delta`` to a counter (never below zero); with ``last_status_at_ms``, also
        set the time of the account's last status."""
        ...

    async def delete(self, account_id: int) -> None: ...

    async def recount(self) -> None:
        """Recompute every follow and status counter from the stored rows (after imports)."""
        ...


class KeyDirectory(Protocol):
    """Unique keys (username, e-mail) -> account id, placed by hash of the key."""

    async def lookup(self, kind: KeyKind, key: str) -> int | None: ...

    async def claim(self, kind: KeyKind, key: str, account_id: int) -> bool:
        """Take ``key`` for ``account_id``; False if it is taken (by anyone, in any process)."""
        ...

    async def claim_many(self, claims: Sequence[tuple[KeyKind, str, int]]) -> set[tuple[KeyKind, str]]:
        """Take many keys (kind, key, account id) at once; the keys now held by the account
        that asked for them (a key already taken is left to its owner)."""
        ...

    async def release(self, kind: KeyKind, key: str) -> None: ...


class FollowGraph(Protocol):
    """Follows, stored on both sides: 'following' on the follower's shard (with the
    options) and 'followers' on the followee's shard. ``follow_id`` is the cursor."""

    async def add_following(
        self, tx: Tx, account_id: int, target_id: int, follow_id: int, options: FollowOptions
    ) -> tuple[int, bool]:
        """The follower's side (``tx`` on the follower's shard). Returns the follow id in
        effect and whether it was created; an existing follow keeps its id and gets
        ``options``."""
        ...

    async def remove_following(self, tx: Tx, account_id: int, target_id: int) -> bool: ...

    async def add_follower(self, tx: Tx, account_id: int, follower_id: int, follow_id: int) -> bool:
        """The followee's side (``tx`` on ``account_id``'s shard); False if it was there."""
        ...

    async def remove_follower(self, tx: Tx, account_id: int, follower_id: int) -> bool: ...

    async def remove_all_followers(self, account_id: int) -> None: ...

    async def add_many(self, edges: Sequence[tuple[int, int, int]]) -> None:
        """Both sides of many (follower, followee, follow id) edges, one transaction per
        shard and side; existing edges are left as they are (imports)."""
        ...

    async def following_options(self, account_id: int) -> dict[int, FollowOptions]:
        """Everyone ``account_id`` follows, with the options of each follow."""
        ...

    async def followers_among(self, account_id: int, candidates: Sequence[int]) -> set[int]: ...

    def follower_batches(self, account_id: int, batch: int) -> AsyncIterator[list[int]]:
        """Every follower id in follow order, ``batch`` at a time (keyset pagination)."""
        ...

    async def page(self, account_id: int, direction: Direction, page: Page) -> list[tuple[int, int]]:
        """(follow id, account id) pairs of one side, newest follow first."""
        ...


class FollowRequests(Protocol):
    """Pending requests to follow a locked account, on the locked account's shard."""

    async def put(
        self, tx: Tx, account_id: int, requester_id: int, request_id: int, options: FollowOptions
    ) -> bool:
        """Record a request (``tx`` on ``account_id``'s shard), or update the options of the
        pending one; True if it is new."""
        ...

    async def remove(self, tx: Tx, account_id: int, requester_id: int) -> bool: ...

    async def options(self, account_id: int, requester_id: int) -> FollowOptions | None: ...

    async def oldest_requesters(self, account_id: int, limit: int) -> list[int]: ...

    async def page(self, account_id: int, page: Page) -> list[tuple[int, int]]:
        """(request id, requester id) pairs, newest first."""
        ...

    async def count(self, account_id: int) -> int: ...

    async def requesters_among(self, account_id: int, candidates: Sequence[int]) -> set[int]:
        """Which of ``candidates`` asked to follow ``account_id``."""
        ...

    async def requested_among(self, requester_id: int, targets: Sequence[int]) -> set[int]:
        """Which of ``targets`` ``requester_id`` asked to follow (each on its own shard)."""
        ...

    async def remove_all_to(self, account_id: int) -> None: ...

    async def remove_all_from(self, requester_id: int) -> None: ...


class OAuthRepository(Protocol):
    """Applications (by client id, and by id), tokens and authorization codes."""

    async def insert_app(self, app: Application, created_at_ms: int) -> None: ...

    async def app_by_client_id(self, client_id: str) -> Application | None: ...

    async def app_by_id(self, app_id: int) -> Application | None: ...

    async def insert_token(self, token: Token) -> None: ...

    async def token(self, token: str) -> Token | None: ...

    async def delete_token(self, token: str) -> bool: ...

    async def delete_tokens_of(self, account_id: int) -> list[str]:
        """Delete every token of an account (on every shard); the tokens deleted."""
        ...

    async def insert_code(self, code: AuthorizationCode) -> None: ...

    async def code(self, code: str) -> AuthorizationCode | None: ...

    async def consume_code(self, code: str) -> bool:
        """Delete a code; True for the one caller that deleted it (codes are single-use)."""
        ...
