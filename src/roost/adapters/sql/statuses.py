"""The statuses area's repositories, written once for both SQL families (see
``ports/statuses.py`` and ``adapters/sql/__init__.py``).

Statements are module constants where they are fixed, so the query-plan tests
explain exactly what runs. A counter changes in the same transaction as the row it
counts, and only if the row did - unless the caller says ``count=False``: then the
write-back policy (ports/counters.py) moves it later through SqlStatusCounts. Every
uniqueness rule (one reblog per account and original, one favourite per pair, one
holder per idempotency key) is the store's own constraint, so two processes racing on
one store keep it without any lock of theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from roost.adapters.sql.keyset import add_clamped, keyset, pairs_page
from roost.adapters.sql.units import executor, storable
from roost.domain.entities import VISIBILITIES, Status
from roost.domain.pagination import Page
from roost.ports.counters import Deltas
from roost.ports.database import Executor, Row, ShardedDatabase, Tx
from roost.ports.statuses import AccountFilter, AppLookup

# Authors per statement when reading home pages (SQLite allows 500 compound terms;
# PostgreSQL has no such limit and takes the same chunks).
IN_CHUNK = 200

COLUMNS = (
    "id, account_id, text, content, visibility, sensitive, spoiler_text, language, in_reply_to_id,"
    " in_reply_to_account_id, reblog_of_id, mention_ids, tags, application_id, created_at,"
    " favourites_count, reblogs_count, replies_count"
)
INSERT_STATUS = (
    "INSERT INTO statuses (id, account_id, text, content, visibility, sensitive,"
    " spoiler_text, language, in_reply_to_id, in_reply_to_account_id, reblog_of_id,"
    " mention_ids, tags, application_id, created_at)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
# statuses_one_reblog (unique, partial) decides whether a reblog wrapper is stored.
INSERT_REBLOG = INSERT_STATUS + " ON CONFLICT DO NOTHING"
REBLOG_BY_ACCOUNT = "SELECT id FROM statuses WHERE account_id = ? AND reblog_of_id = ?"
# A key is taken over only when it expired (here) or its status was deleted (below).
CLAIM_KEY = (
    "INSERT INTO idempotency_keys (account_id, key, status_id, created_at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (account_id, key) DO UPDATE SET status_id = excluded.status_id,"
    " created_at = excluded.created_at WHERE idempotency_keys.created_at < ?"
)
# A statement of its own, after the claim: on PostgreSQL a claim that met a key another
# transaction was inserting waits for it to commit, then locks the row, but a subquery in
# its own WHERE still reads the snapshot from before that commit, so it would not see the
# holder's status and would take the key over. This next statement reads a fresh snapshot.
TAKE_OVER_ORPHAN_KEY = (
    "UPDATE idempotency_keys SET status_id = ?, created_at = ? WHERE account_id = ? AND key = ?"
    " AND NOT EXISTS (SELECT 1 FROM statuses WHERE statuses.id = idempotency_keys.status_id)"
)
IDEMPOTENCY_KEY = "SELECT status_id, created_at FROM idempotency_keys WHERE account_id = ? AND key = ?"
DELETE_STATUS = "DELETE FROM statuses WHERE id = ?"
OLDEST_BY_ACCOUNT = "SELECT id FROM statuses WHERE account_id = ? ORDER BY id LIMIT ?"
RECENT_BY_ACCOUNT = (
    "SELECT id FROM statuses WHERE account_id = ? AND visibility <> 'direct' ORDER BY id DESC LIMIT ?"
)
VIEWER_FAVOURITES_SET = "SELECT status_id FROM account_favourites WHERE account_id = ? LIMIT ?"
VIEWER_REBLOGS_SET = (
    "SELECT reblog_of_id FROM statuses WHERE account_id = ? AND reblog_of_id IS NOT NULL LIMIT ?"
)
DIRECT_MENTIONING = (
    "SELECT id FROM (SELECT id, visibility, mention_ids FROM statuses WHERE account_id = ?"
    " ORDER BY id DESC LIMIT ?) AS recent WHERE visibility = 'direct' AND (' ' || mention_ids || ' ') LIKE ?"
)
REPLIES = "SELECT reply_id FROM status_replies WHERE parent_id = ? ORDER BY reply_id"
LINK_REPLY = "INSERT INTO status_replies (parent_id, reply_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
UNLINK_REPLY = "DELETE FROM status_replies WHERE parent_id = ? AND reply_id = ?"
LINK_REBLOG = "INSERT INTO reblogs (status_id, account_id, reblog_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
UNLINK_REBLOG = "DELETE FROM reblogs WHERE status_id = ? AND account_id = ? AND reblog_id = ?"
REBLOG_WRAPPERS = "SELECT reblog_id FROM reblogs WHERE status_id = ?"
ADD_FAVOURITE = (
    "INSERT INTO favourites (status_id, account_id, favourite_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"
)
REMOVE_FAVOURITE = "DELETE FROM favourites WHERE status_id = ? AND account_id = ?"
FAVOURITE_ID = "SELECT favourite_id FROM favourites WHERE status_id = ? AND account_id = ?"
ADD_ACCOUNT_FAVOURITE = (
    "INSERT INTO account_favourites (account_id, status_id, favourite_id) VALUES (?, ?, ?)"
    " ON CONFLICT DO NOTHING"
)
REMOVE_ACCOUNT_FAVOURITE = "DELETE FROM account_favourites WHERE account_id = ? AND status_id = ?"

_COUNTERS = frozenset({"replies_count", "reblogs_count", "favourites_count"})
# The three counters from the relation rows they count (the write-back policy's repair),
# only where one is wrong (so the caller knows which cached statuses to drop).
_FAVOURITES = "(SELECT COUNT(*) FROM favourites f WHERE f.status_id = statuses.id)"
_REBLOGS = "(SELECT COUNT(*) FROM reblogs r WHERE r.status_id = statuses.id)"
_REPLIES = "(SELECT COUNT(*) FROM status_replies t WHERE t.parent_id = statuses.id)"
RECOUNT = (
    f"UPDATE statuses SET favourites_count = {_FAVOURITES}, reblogs_count = {_REBLOGS},"
    f" replies_count = {_REPLIES}"
    f" WHERE (favourites_count <> {_FAVOURITES} OR reblogs_count <> {_REBLOGS} OR replies_count <> {_REPLIES})"
)


async def _bump(tx: Executor, status_id: int, counter: str, delta: int) -> None:
    """Change a status's counter (never below zero) in the transaction of its row."""
    if counter not in _COUNTERS:
        raise ValueError(counter)
    await tx.execute(
        f"UPDATE statuses SET {add_clamped(counter)} WHERE id = ?",
        (delta, delta, status_id),
    )


def _bounds(page: Page, column: str) -> tuple[str, list[Any], str]:
    """The page's keyset bounds on ``column`` as a WHERE suffix, its parameters and the
    scan order (a ``min_id`` page reads ascending, the rows just above it)."""
    clauses, params, order = keyset(page, column)
    return "".join(f" AND {c}" for c in clauses), params, order


def _ids(raw: str) -> tuple[int, ...]:
    return tuple(int(x) for x in raw.split()) if raw else ()


def _row_to_status(row: Row, app: tuple[str, str | None] | None) -> Status:
    return Status(
        id=row["id"],
        account_id=row["account_id"],
        text=row["text"],
        content=row["content"],
        visibility=row["visibility"],
        sensitive=bool(row["sensitive"]),
        spoiler_text=row["spoiler_text"],
        language=row["language"],
        in_reply_to_id=row["in_reply_to_id"],
        in_reply_to_account_id=row["in_reply_to_account_id"],
        reblog_of_id=row["reblog_of_id"],
        mention_ids=_ids(row["mention_ids"]),
        tags=tuple(row["tags"].split()) if row["tags"] else (),
        application_name=app[0] if app else None,
        application_website=app[1] if app else None,
        created_at_ms=row["created_at"],
        favourites_count=row["favourites_count"],
        reblogs_count=row["reblogs_count"],
        replies_count=row["replies_count"],
    )


class _Base:
    def __init__(self, db: ShardedDatabase) -> None:
        self._db = db

    async def _pairs(
        self, table: str, owner_column: str, owner: int, cursor: str, other: str, page: Page
    ) -> list[tuple[int, int]]:
        return await pairs_page(self._db.for_id(owner), table, owner_column, owner, cursor, other, page)

    async def _ids_within(
        self, sql: str, column: str, owner: int, below: int | None, above: int | None, limit: int
    ) -> list[int]:
        clauses, params = "", [owner]
        if below is not None:
            clauses += f" AND {column} < ?"
            params.append(below)
        if above is not None:
            clauses += f" AND {column} > ?"
            params.append(above)
        rows = await self._db.for_id(owner).fetch_all(sql.format(clauses), (*params, limit))
        return [r["id"] for r in rows]


class SqlStatuses(_Base):
    def __init__(self, db: ShardedDatabase, *, position_function: str) -> None:
        """``position_function`` names the family's SQL function for "where does the second
        string start in the first, 0 if nowhere" (SQLite ``instr``, PostgreSQL ``strpos``):
        the one piece of this repository the engines spell differently. A constructor
        argument rather than a subclass per family, as it is a single word of one statement."""
        if not position_function.isidentifier():
            raise ValueError(f"not an SQL function name: {position_function!r}")
        super().__init__(db)
        self._position = position_function

    # -- writes --------------------------------------------------------------------------

    async def insert(self, tx: Tx, status: Status, application_id: int | None) -> int:
        ex = executor(tx)
        reblog = status.reblog_of_id is not None
        added = await ex.execute(
            INSERT_REBLOG if reblog else INSERT_STATUS,
            (status.id, status.account_id, status.text, status.content, status.visibility,
             bool(status.sensitive), status.spoiler_text, status.language, status.in_reply_to_id,
             status.in_reply_to_account_id, status.reblog_of_id,
             " ".join(map(str, status.mention_ids)), " ".join(status.tags), application_id,
             status.created_at_ms),
        )
        if added or not reblog:
            return status.id
        existing = await ex.fetch_one(REBLOG_BY_ACCOUNT, (status.account_id, status.reblog_of_id))
        if existing is None:  # the only conflict a wrapper can meet is another wrapper
            raise RuntimeError(f"status {status.id} was refused but no reblog holds its place")
        return int(existing["id"])

    async def claim_idempotency_key(
        self, tx: Tx, account_id: int, key: str, status_id: int, now_ms: int, expired_before_ms: int
    ) -> int | None:
        ex = executor(tx)
        if await ex.execute(CLAIM_KEY, (account_id, key, status_id, now_ms, expired_before_ms)):
            return None
        if await ex.execute(TAKE_OVER_ORPHAN_KEY, (status_id, now_ms, account_id, key)):
            return None
        row = await ex.fetch_one(IDEMPOTENCY_KEY, (account_id, key))
        assert row is not None  # the conflict that stopped the claim
        return int(row["status_id"])

    async def delete(self, tx: Tx, status_id: int) -> bool:
        return await executor(tx).execute(DELETE_STATUS, (status_id,)) > 0

    # -- reads ---------------------------------------------------------------------------

    async def load_on(self, physical: int, ids: list[int], apps: AppLookup) -> dict[int, Status]:
        if not ids:  # "IN ()" is SQLite's extension, a syntax error on PostgreSQL
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.shards[physical].fetch_all(
            f"SELECT {COLUMNS} FROM statuses WHERE id IN ({marks})", ids
        )
        names: dict[int, tuple[str, str | None]] = {}
        for app_id in {r["application_id"] for r in rows if r["application_id"]}:
            app = await apps(app_id)
            if app is not None:
                names[app_id] = (app.name, app.website)
        return {
            row["id"]: _row_to_status(row, names.get(row["application_id"]) if row["application_id"] else None)
            for row in rows
        }

    async def get_many(self, ids: Iterable[int], apps: AppLookup) -> dict[int, Status]:
        by_shard: dict[int, list[int]] = {}
        for status_id in dict.fromkeys(ids):
            by_shard.setdefault(self._db.shard_map.physical_for_id(status_id), []).append(status_id)
        found: dict[int, Status] = {}
        for physical, batch in by_shard.items():
            found.update(await self.load_on(physical, batch, apps))
        return found

    async def idempotent_status_id(self, account_id: int, key: str, not_before_ms: int) -> int | None:
        if not storable(key):
            return None
        row = await self._db.for_id(account_id).fetch_one(IDEMPOTENCY_KEY, (account_id, key))
        if row is None or row["created_at"] < not_before_ms:
            return None
        return int(row["status_id"])

    async def reblog_of(self, account_id: int, original_id: int) -> int | None:
        row = await self._db.for_id(account_id).fetch_one(REBLOG_BY_ACCOUNT, (account_id, original_id))
        return None if row is None else int(row["id"])

    async def oldest_ids_by(self, account_id: int, limit: int) -> list[int]:
        rows = await self._db.for_id(account_id).fetch_all(OLDEST_BY_ACCOUNT, (account_id, limit))
        return [r["id"] for r in rows]

    async def recent_ids(self, account_id: int, limit: int) -> list[int]:
        rows = await self._db.for_id(account_id).fetch_all(RECENT_BY_ACCOUNT, (account_id, limit))
        return [r["id"] for r in rows]

    async def public_ids_by(self, account_id: int, below: int | None, limit: int) -> list[int]:
        rows = await self._db.for_id(account_id).fetch_all(
            "SELECT id FROM statuses WHERE account_id = ? AND visibility = 'public'"
            + (" AND id < ?" if below is not None else "") + " ORDER BY id DESC LIMIT ?",
            (account_id, *([below] if below is not None else []), limit),
        )
        return [r["id"] for r in rows]

    async def reblogged_ids(self, account_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        return await self._ids_within(
            "SELECT reblog_of_id AS id FROM statuses WHERE account_id = ? AND reblog_of_id IS NOT NULL{}"
            " ORDER BY reblog_of_id DESC LIMIT ?",
            "reblog_of_id", account_id, below, above, limit,
        )

    async def viewer_sets(self, account_id: int, limit: int) -> tuple[frozenset[int], frozenset[int]] | None:
        shard = self._db.for_id(account_id)
        favourited = await shard.fetch_all(VIEWER_FAVOURITES_SET, (account_id, limit + 1))
        reblogged = await shard.fetch_all(VIEWER_REBLOGS_SET, (account_id, limit + 1))
        if len(favourited) > limit or len(reblogged) > limit:
            return None
        return frozenset(r["status_id"] for r in favourited), frozenset(r["reblog_of_id"] for r in reblogged)

    async def viewer_flags(self, account_id: int, status_ids: list[int]) -> tuple[set[int], set[int]]:
        if not status_ids:
            return set(), set()
        marks = ",".join("?" * len(status_ids))
        rows = await self._db.for_id(account_id).fetch_all(
            "SELECT 0 AS kind, status_id AS id FROM account_favourites"
            f" WHERE account_id = ? AND status_id IN ({marks})"
            " UNION ALL SELECT 1 AS kind, reblog_of_id AS id FROM statuses"
            f" WHERE account_id = ? AND reblog_of_id IN ({marks})",
            (account_id, *status_ids, account_id, *status_ids),
        )
        return {r["id"] for r in rows if r["kind"] == 0}, {r["id"] for r in rows if r["kind"] == 1}

    # -- timelines -------------------------------------------------------------------------

    async def account_page(self, account_id: int, page: Page, only: AccountFilter) -> list[int]:
        clauses, params, order = _bounds(page, "id")
        visible = ""
        if only.visibilities is not None:
            if not set(only.visibilities) <= set(VISIBILITIES):
                raise ValueError(f"unknown visibility in {only.visibilities!r}")
            # Literals (checked above), as the partial and covering indexes are planned for them.
            listed = "visibility IN (" + ", ".join(f"'{v}'" for v in only.visibilities) + ")"
            if only.mentioned is None:
                visible = f" AND {listed}"
            else:
                # Mentioned accounts also see private and direct statuses.
                visible = f" AND ({listed} OR (' ' || mention_ids || ' ') LIKE ?)"
                params.insert(0, f"% {only.mentioned} %")
        if only.exclude_replies:
            clauses += " AND (in_reply_to_id IS NULL OR in_reply_to_account_id = account_id)"
        if only.exclude_reblogs:
            clauses += " AND reblog_of_id IS NULL"
        if only.tag is not None:
            if not storable(only.tag):
                return []  # no stored tag holds it
            # A position, not LIKE: the tag is matched as a whole word, never as a pattern
            # ("_" and "%" are LIKE wildcards and "_" is part of many tags).
            clauses += f" AND {self._position}(' ' || tags || ' ', ?) > 0"
            params.append(f" {only.tag} ")
        rows = await self._db.for_id(account_id).fetch_all(
            f"SELECT id FROM statuses WHERE account_id = ?{visible}{clauses} ORDER BY id {order} LIMIT ?",
            (account_id, *params, page.limit),
        )
        return [r["id"] for r in rows]

    async def public_page(self, page: Page) -> list[int]:
        clauses, params, order = _bounds(page, "id")
        ids: list[int] = []
        for shard in self._db.shards:
            rows = await shard.fetch_all(
                "SELECT id FROM statuses WHERE visibility = 'public' AND reblog_of_id IS NULL"
                f"{clauses} ORDER BY id {order} LIMIT ?",
                (*params, page.limit),
            )
            ids.extend(r["id"] for r in rows)
        return ids

    async def home_pages(
        self, viewer_id: int, authors: Mapping[int, int | None], limit: int
    ) -> dict[int, list[int]]:
        by_shard: dict[int, list[int]] = {}
        for author in authors:
            by_shard.setdefault(self._db.shard_map.physical_for_id(author), []).append(author)
        pages: dict[int, list[int]] = {}
        mention = f"% {viewer_id} %"
        for physical, batch in by_shard.items():
            for start in range(0, len(batch), IN_CHUNK):
                parts: list[str] = []
                params: list[Any] = []
                for author in batch[start : start + IN_CHUNK]:
                    below = authors[author]
                    parts.append(
                        "SELECT * FROM (SELECT account_id, id FROM statuses WHERE account_id = ?"
                        + (" AND id < ?" if below is not None else "")
                        + " AND (visibility <> 'direct' OR account_id = ? OR (' ' || mention_ids || ' ') LIKE ?)"
                        " ORDER BY id DESC LIMIT ?) AS page"
                    )
                    params += [author, *([below] if below is not None else []), viewer_id, mention, limit]
                rows = await self._db.shards[physical].fetch_all(" UNION ALL ".join(parts), params)
                for row in rows:
                    pages.setdefault(row["account_id"], []).append(row["id"])
        return pages

    async def direct_mentioning(self, author_id: int, viewer_id: int, scan: int) -> list[int]:
        rows = await self._db.for_id(author_id).fetch_all(
            DIRECT_MENTIONING, (author_id, scan, f"% {viewer_id} %")
        )
        return [r["id"] for r in rows]


class SqlThreadLinks(_Base):
    async def link(self, tx: Tx, parent_id: int, reply_id: int, *, count: bool = True) -> bool:
        return await _change(tx, parent_id, "replies_count", 1 if count else 0, LINK_REPLY, (parent_id, reply_id))

    async def unlink(self, tx: Tx, parent_id: int, reply_id: int, *, count: bool = True) -> bool:
        return await _change(tx, parent_id, "replies_count", -1 if count else 0, UNLINK_REPLY, (parent_id, reply_id))

    async def replies(self, parent_id: int) -> list[int]:
        rows = await self._db.for_id(parent_id).fetch_all(REPLIES, (parent_id,))
        return [r["reply_id"] for r in rows]


class SqlReblogs(_Base):
    async def link(self, tx: Tx, original_id: int, account_id: int, wrapper_id: int, *, count: bool = True) -> bool:
        return await _change(
            tx, original_id, "reblogs_count", 1 if count else 0, LINK_REBLOG, (original_id, account_id, wrapper_id)
        )

    async def unlink(self, tx: Tx, original_id: int, account_id: int, wrapper_id: int, *,
                     count: bool = True) -> bool:
        return await _change(
            tx, original_id, "reblogs_count", -1 if count else 0, UNLINK_REBLOG, (original_id, account_id, wrapper_id)
        )

    async def wrappers(self, original_id: int) -> list[int]:
        rows = await self._db.for_id(original_id).fetch_all(REBLOG_WRAPPERS, (original_id,))
        return [r["reblog_id"] for r in rows]

    async def page(self, original_id: int, page: Page) -> list[tuple[int, int]]:
        return await self._pairs("reblogs", "status_id", original_id, "reblog_id", "account_id", page)


class SqlFavourites(_Base):
    async def add(self, tx: Tx, status_id: int, account_id: int, favourite_id: int, *, count: bool = True) -> bool:
        return await _change(
            tx, status_id, "favourites_count", 1 if count else 0, ADD_FAVOURITE, (status_id, account_id, favourite_id)
        )

    async def remove(self, tx: Tx, status_id: int, account_id: int, *, count: bool = True) -> bool:
        return await _change(
            tx, status_id, "favourites_count", -1 if count else 0, REMOVE_FAVOURITE, (status_id, account_id)
        )

    async def favourite_id(self, status_id: int, account_id: int) -> int | None:
        row = await self._db.for_id(status_id).fetch_one(FAVOURITE_ID, (status_id, account_id))
        return None if row is None else int(row["favourite_id"])

    async def page(self, status_id: int, page: Page) -> list[tuple[int, int]]:
        return await self._pairs("favourites", "status_id", status_id, "favourite_id", "account_id", page)

    async def record_account_side(self, tx: Tx, account_id: int, status_id: int, favourite_id: int) -> bool:
        return await executor(tx).execute(ADD_ACCOUNT_FAVOURITE, (account_id, status_id, favourite_id)) > 0

    async def forget_account_side(self, tx: Tx, account_id: int, status_id: int) -> bool:
        return await executor(tx).execute(REMOVE_ACCOUNT_FAVOURITE, (account_id, status_id)) > 0

    async def account_page(self, account_id: int, page: Page) -> list[tuple[int, int]]:
        return await self._pairs(
            "account_favourites", "account_id", account_id, "favourite_id", "status_id", page
        )

    async def status_ids_of(self, account_id: int, below: int | None, above: int | None, limit: int) -> list[int]:
        return await self._ids_within(
            "SELECT status_id AS id FROM account_favourites WHERE account_id = ?{} ORDER BY status_id DESC LIMIT ?",
            "status_id", account_id, below, above, limit,
        )


class SqlStatusCounts(_Base):
    async def add(self, tx: Tx, deltas: Deltas) -> None:
        ex = executor(tx)
        for (status_id, counter), delta in deltas.items():
            if delta:
                await _bump(ex, status_id, counter, delta)

    async def recount(self, status_ids: Sequence[int] | None) -> list[int]:
        corrected: list[int] = []
        if status_ids is None:
            for shard in self._db.shards:
                async with shard.transaction() as tx:
                    rows = await executor(tx).fetch_all(f"{RECOUNT} RETURNING id", ())
                corrected += [r["id"] for r in rows]
            return corrected
        by_shard: dict[int, list[int]] = {}
        for status_id in dict.fromkeys(status_ids):
            by_shard.setdefault(self._db.shard_map.physical_for_id(status_id), []).append(status_id)
        for physical, ids in by_shard.items():
            async with self._db.shards[physical].transaction() as tx:
                for start in range(0, len(ids), IN_CHUNK):
                    chunk = ids[start : start + IN_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    rows = await executor(tx).fetch_all(f"{RECOUNT} AND id IN ({marks}) RETURNING id", chunk)
                    corrected += [r["id"] for r in rows]
        return corrected


async def _change(tx: Tx, status_id: int, counter: str, delta: int, sql: str, params: tuple[int, ...]) -> bool:
    """Write a relation row and, only if it changed, its counter on the same status
    (a ``delta`` of 0: the write-back policy moves the counter instead)."""
    ex = executor(tx)
    changed = await ex.execute(sql, params) > 0
    if changed and delta:
        await _bump(ex, status_id, counter, delta)
    return changed
