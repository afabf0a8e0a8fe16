"""Repository ports of the statuses area: statuses with their idempotency keys, thread
links, reblogs and favourites (both halves), and the id scans timelines are built from.

Methods speak domain records and plain ids. Write methods take the ``Tx`` of the
shard that holds the row (the caller opens it, so one unit of work can also carry
an account counter and an outbox event); a row and the counter that counts it
always change in the same ``Tx``. Read methods route by id themselves.

Uniqueness is the store's job, never a check-then-insert: one reblog per account
and original, one favourite per account and status, one status per live
Idempotency-Key. Inserting a second one returns (or reports) the first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from roost.domain.entities import Application, Status
from roost.domain.pagination import Page
from roost.ports.counters import Deltas
from roost.ports.database import Tx

# An OAuth application by id (None when it is gone): names the app a status was posted with.
AppLookup = Callable[[int], Awaitable[Application | None]]


@dataclass(frozen=True)
class AccountFilter:
    """Which of an account's statuses a page may hold (an account timeline)."""

    # None: every visibility (the owner's own view).
    visibilities: tuple[str, ...] | None = None
    # Also statuses of any visibility that mention this account.
    mentioned: int | None = None
    exclude_replies: bool = False  # self-replies (threads) are kept, as in Mastodon
    exclude_reblogs: bool = False
    tag: str | None = None  # lower-case, matched as a whole word


class StatusRepository(Protocol):
    # -- writes (in the Tx of the status's own shard, the author's) --------------------

    async def insert(self, tx: Tx, status: Status, application_id: int | None) -> int:
        """Store ``status``; returns its id. A reblog wrapper is stored only if its
        account has no reblog of the same original: otherwise nothing is written and
        the id of the existing wrapper is returned."""
        ...

    async def claim_idempotency_key(
        self, tx: Tx, account_id: int, key: str, status_id: int, now_ms: int, expired_before_ms: int
    ) -> int | None:
        """Bind ``key`` to ``status_id`` (None) unless a status that still exists holds
        it since ``expired_before_ms`` or later: then nothing changes and that status's
        id is returned."""
        ...

    async def delete(self, tx: Tx, status_id: int) -> bool: ...

    # -- reads --------------------------------------------------------------------------

    async def load_on(self, physical: int, ids: list[int], apps: AppLookup) -> dict[int, Status]:
        """The statuses among ``ids`` that exist, all on physical shard ``physical``
        (one query: the cache-aside path batches its misses per shard)."""
        ...

    async def get_many(self, ids: Iterable[int], apps: AppLookup) -> dict[int, Status]:
        """Statuses by id on any shards, one query per physical shard."""
        ...

    async def idempotent_status_id(self, account_id: int, key: str, not_before_ms: int) -> int | None: ...

    async def reblog_of(self, account_id: int, original_id: int) -> int | None:
        """The id of ``account_id``'s reblog of ``original_id``, if any."""
        ...

    async def oldest_ids_by(self, account_id: int, limit: int) -> list[int]:
        """An account's oldest status ids (account deletion walks them in batches)."""
        ...

    async def recent_ids(self, account_id: int, limit: int) -> list[int]:
        """An account's newest non-direct status ids, newest first."""
        ...

    async def public_ids_by(self, account_id: int, below: int | None, limit: int) -> list[int]:
        """An account's public status ids (reblogs included), newest first."""
        ...

    async def reblogged_ids(self, account_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        """Ids of the originals an account reblogged, newest original first."""
        ...

    async def viewer_sets(self, account_id: int, limit: int) -> tuple[frozenset[int], frozenset[int]] | None:
        """Every status id the account favourited and every original it reblogged, or
        None when either holds more than ``limit``."""
        ...

    async def viewer_flags(self, account_id: int, status_ids: list[int]) -> tuple[set[int], set[int]]:
        """Which of ``status_ids`` the account favourited, and which it reblogged."""
        ...

    # -- timelines ------------------------------------------------------------------------

    async def account_page(self, account_id: int, page: Page, only: AccountFilter) -> list[int]:
        """A page of an account's status ids (in the page's scan order)."""
        ...

    async def public_page(self, page: Page) -> list[int]:
        """Up to ``page.limit`` public originals within the page's bounds from every shard
        (unordered across shards: the caller merges)."""
        ...

    async def home_pages(
        self, viewer_id: int, authors: Mapping[int, int | None], limit: int
    ) -> dict[int, list[int]]:
        """Each author's next ``limit`` ids below the given id (None: from the newest),
        newest first, among those that belong in ``viewer_id``'s home timeline (direct
        ones only for their author and the accounts they mention). Authors are read
        per physical shard in as few statements as the engine allows."""
        ...

    async def direct_mentioning(self, author_id: int, viewer_id: int, scan: int) -> list[int]:
        """Direct statuses mentioning ``viewer_id`` among the author's ``scan`` newest."""
        ...


# Relation writers below take ``count``: True moves the status's counter in the same Tx
# (only if the row changed); False leaves the counter to the write-back policy
# (ports/counters.py), which applies it later through StatusCounts.


class ThreadLinks(Protocol):
    """``status_replies`` on the parent's shard, with the parent's replies_count."""

    async def link(self, tx: Tx, parent_id: int, reply_id: int, *, count: bool = True) -> bool: ...
    async def unlink(self, tx: Tx, parent_id: int, reply_id: int, *, count: bool = True) -> bool: ...
    async def replies(self, parent_id: int) -> list[int]:
        """Reply ids of a parent, oldest first."""
        ...


class Reblogs(Protocol):
    """Who reblogged a status, on the original's shard, with its reblogs_count."""

    async def link(self, tx: Tx, original_id: int, account_id: int, wrapper_id: int, *, count: bool = True) -> bool: ...
    async def unlink(self, tx: Tx, original_id: int, account_id: int, wrapper_id: int, *,
                     count: bool = True) -> bool:
        """Remove this wrapper's row only (a replayed deletion must not undo a later reblog)."""
        ...
    async def wrappers(self, original_id: int) -> list[int]: ...
    async def page(self, original_id: int, page: Page) -> list[tuple[int, int]]:
        """(cursor, account id) pairs, newest first."""
        ...


class Favourites(Protocol):
    """Favourites, stored on both sides: the status's half (with favourites_count) is
    the source of truth, the favouriter's half feeds its list and flags."""

    async def add(self, tx: Tx, status_id: int, account_id: int, favourite_id: int, *, count: bool = True) -> bool: ...
    async def remove(self, tx: Tx, status_id: int, account_id: int, *, count: bool = True) -> bool: ...
    async def favourite_id(self, status_id: int, account_id: int) -> int | None: ...
    async def page(self, status_id: int, page: Page) -> list[tuple[int, int]]:
        """(cursor, account id) pairs of a status's favouriters, newest first."""
        ...

    async def record_account_side(self, tx: Tx, account_id: int, status_id: int, favourite_id: int) -> bool: ...
    async def forget_account_side(self, tx: Tx, account_id: int, status_id: int) -> bool: ...
    async def account_page(self, account_id: int, page: Page) -> list[tuple[int, int]]:
        """(cursor, status id) pairs of what an account favourited, newest first."""
        ...

    async def status_ids_of(self, account_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        """Ids of the statuses an account favourited, newest status first."""
        ...


class StatusCounts(Protocol):
    """The counters of statuses as the write-back policy moves them: in batches, and
    recounted from the relation rows (favourites, reblogs, status_replies)."""

    async def add(self, tx: Tx, deltas: Deltas) -> None:
        """Add each delta to its status's counter (never below zero); every status is
        on ``tx``'s shard. A status that is gone is skipped."""
        ...

    async def recount(self, status_ids: Sequence[int] | None) -> list[int]:
        """Set the three counters of these statuses (every status when None) to the
        number of their rows; returns the ids of those whose counters were wrong."""
        ...
