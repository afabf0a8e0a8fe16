"""The status search index on SQLite shards: FTS5 (see migrations/search.py).

Who may find an entry is encoded as tokens in two more columns, ``searchers``
(``a<author id>``, ``m<mentioned id>``) and ``scope`` (``public`` when listed), so
one MATCH expression filters by words and viewer together and ``ORDER BY rowid DESC
LIMIT n`` stops early.
"""

from __future__ import annotations

from collections.abc import Sequence

from roost.adapters.embedded.database import SqliteDatabase, executor
from roost.ports.database import Tx
from roost.ports.search import IndexedStatus

LISTED_SCOPE = "public"
_IN_CHUNK = 500  # rowids per "rowid IN (...)" probe


def words_match(words: Sequence[str]) -> str:
    """An FTS5 expression on the text column requiring every word: each one quoted
    (a phrase of one token), so no word is read as an operator."""
    return "body : (" + " ".join('"' + w.replace('"', '""') + '"' for w in words) + ")"


def searchers_of(entry: IndexedStatus) -> str:
    """The tokens naming who may always find ``entry``: its author and mentions."""
    return " ".join([f"a{entry.author_id}", *(f"m{m}" for m in entry.mention_ids)])


class SqliteSearchIndex:
    def __init__(self, db: SqliteDatabase) -> None:
        self._db = db

    async def index(self, tx: Tx, entry: IndexedStatus) -> None:
        sql = executor(tx)
        await sql.execute("DELETE FROM statuses_fts WHERE rowid = ?", (entry.id,))
        await sql.execute(
            "INSERT INTO statuses_fts (rowid, body, searchers, scope) VALUES (?, ?, ?, ?)",
            (entry.id, entry.text, searchers_of(entry), LISTED_SCOPE if entry.listed else ""),
        )

    async def unindex(self, tx: Tx, status_id: int) -> None:
        await executor(tx).execute("DELETE FROM statuses_fts WHERE rowid = ?", (status_id,))

    async def set_listed(self, tx: Tx, status_ids: Sequence[int], listed: bool) -> None:
        sql = executor(tx)
        for start in range(0, len(status_ids), _IN_CHUNK):
            chunk = status_ids[start : start + _IN_CHUNK]
            await sql.execute(
                f"UPDATE statuses_fts SET scope = ? WHERE rowid IN ({','.join('?' * len(chunk))})",
                (LISTED_SCOPE if listed else "", *chunk),
            )

    async def query(
        self,
        words: Sequence[str],
        viewer_id: int,
        limit: int,
        max_id: int | None = None,
        min_id: int | None = None,
        author_id: int | None = None,
    ) -> list[int]:
        match = (f'{words_match(words)} AND (scope : "{LISTED_SCOPE}"'
                 f' OR searchers : "a{viewer_id}" OR searchers : "m{viewer_id}")')
        shards = self._db.shards
        if author_id is not None:
            match += f' AND searchers : "a{author_id}"'
            shards = [self._db.for_id(author_id)]  # an author's statuses live on its shard
        clauses = ""
        params: list[object] = []
        if max_id is not None:
            clauses += " AND rowid < ?"
            params.append(max_id)
        if min_id is not None:
            clauses += " AND rowid > ?"
            params.append(min_id)
        ids: list[int] = []
        for shard in shards:
            rows = await shard.fetch_all(
                f"SELECT rowid AS id FROM statuses_fts WHERE statuses_fts MATCH ?{clauses}"
                " ORDER BY rowid DESC LIMIT ?",
                (match, *params, limit),
            )
            ids.extend(r["id"] for r in rows)
        ids.sort(reverse=True)
        return ids

    async def matching(self, words: Sequence[str], status_ids: Sequence[int]) -> list[int]:
        match = words_match(words)
        out: list[int] = []
        for physical, group in self._db.shard_map.ids_by_physical(status_ids).items():
            for start in range(0, len(group), _IN_CHUNK):
                chunk = group[start : start + _IN_CHUNK]
                rows = await self._db.shards[physical].fetch_all(
                    "SELECT rowid AS id FROM statuses_fts WHERE statuses_fts MATCH ?"
                    f" AND rowid IN ({','.join('?' * len(chunk))})",
                    (match, *chunk),
                )
                out.extend(r["id"] for r in rows)
        return out

    async def rebuild_stale(self) -> int:
        rebuilt = 0
        for shard in self._db.shards:
            if await shard.fetch_one("SELECT pending FROM search_backfill LIMIT 1") is None:
                continue
            async with shard.transaction() as tx:
                # Checked again inside the write lock: another process may have rebuilt it.
                if await tx.fetch_one("SELECT pending FROM search_backfill LIMIT 1") is None:
                    continue
                await tx.execute("DELETE FROM statuses_fts")
                await tx.execute(
                    "INSERT INTO statuses_fts (rowid, body, searchers, scope)"
                    " SELECT s.id, s.spoiler_text || char(10) || s.text,"
                    " 'a' || s.account_id || CASE WHEN s.mention_ids = '' THEN ''"
                    " ELSE ' m' || replace(s.mention_ids, ' ', ' m') END,"
                    " CASE WHEN s.visibility = 'public' AND a.indexable THEN ? ELSE '' END"
                    " FROM statuses s LEFT JOIN accounts a ON a.id = s.account_id"
                    " WHERE s.reblog_of_id IS NULL",
                    (LISTED_SCOPE,),
                )
                await tx.execute("DELETE FROM search_backfill")
            rebuilt += 1
        return rebuilt
