"""The status search index on PostgreSQL shards: one tsvector per status with a GIN index
(see migrations/search.py for the layout and why it is one column).

The lexemes are made here, not by a text search configuration, so that they are the
embedded index's (FTS5 ``unicode61``): runs of letters and digits, case-folded, diacritics
removed, nothing stemmed and no stop words. PostgreSQL's ``simple`` configuration comes
closest but differs where it matters: its parser keeps URLs, host names and e-mail addresses
whole (a search for ``github`` would not find ``https://github.com/x``), and with the
cluster's C locale it neither lowercases nor unaccents non-ASCII letters (``Café``). Documents
and queries are therefore passed as tsvector/tsquery literals of already-normal lexemes, which
PostgreSQL stores and compares as given.

Reads go to a replica like every read outside a unit of work (database.py): the index is
eventually consistent anyway (the indexer worker feeds it from the log).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from roost.adapters.postgres.database import PgDatabase, PgExecutor, executor_of
from roost.ports.database import Row, Tx
from roost.ports.search import IndexedStatus

# Who-may-find tokens sit at weight A on the last position a tsvector holds, apart from the
# words (weight D, positions from 1): weight restrictions in queries keep the two apart.
_FINDER_POSITION = "16383A"
LISTED_TOKEN = "listed"
_LEXEME_RE = re.compile(r"[^\W_]+")
_REBUILD_BATCH = 500

# One statement, not delete-then-insert: two indexers replaying one event at once would both
# find nothing to delete, and the second insert would break the primary key.
UPSERT = (
    "INSERT INTO status_search (status_id, document) VALUES (?, ?::tsvector)"
    " ON CONFLICT (status_id) DO UPDATE SET document = EXCLUDED.document"
)
UNINDEX = "DELETE FROM status_search WHERE status_id = ?"
# Keeps the words and the author/mention tokens; drops the old "listed" token, adds the new one.
SET_LISTED = (
    "UPDATE status_search SET document = ts_filter(document, '{d}')"
    " || ts_delete(ts_filter(document, '{a}'), '" + LISTED_TOKEN + "') || ?::tsvector"
    " WHERE status_id = ANY(?::bigint[])"
)
QUERY = "SELECT status_id FROM status_search WHERE document @@ ?::tsquery"
QUERY_ORDER = " ORDER BY status_id DESC LIMIT ?"
MATCHING = "SELECT status_id FROM status_search WHERE document @@ ?::tsquery AND status_id = ANY(?::bigint[])"
CLAIM_REBUILD = "DELETE FROM search_backfill"
REBUILD_PAGE = (
    "SELECT s.id, s.account_id, s.spoiler_text, s.text, s.mention_ids, s.visibility, a.indexable"
    " FROM statuses s LEFT JOIN accounts a ON a.id = s.account_id"
    " WHERE s.reblog_of_id IS NULL AND s.id > ? ORDER BY s.id LIMIT ?"
)


def lexemes(text: str) -> list[str]:
    """``text``'s words as the embedded tokenizer makes them: letters and digits, case-folded,
    without diacritics (compatibility forms decomposed too, so ``ﬁ`` is ``fi``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return _LEXEME_RE.findall(bare.casefold())


def _quoted(lexeme: str) -> str:
    # Lexemes are letters and digits only: nothing in them needs escaping.
    return "'" + lexeme + "'"


def document_of(entry: IndexedStatus) -> str:
    """The tsvector literal of ``entry``: its words with positions, then who may find it."""
    positions: dict[str, list[int]] = {}
    for position, lexeme in enumerate(lexemes(entry.text), start=1):
        positions.setdefault(lexeme, []).append(min(position, 16383))
    words = [f"{_quoted(w)}:{','.join(map(str, p[:256]))}" for w, p in positions.items()]
    finders = [f"a{entry.author_id}", *(f"m{m}" for m in entry.mention_ids)]
    if entry.listed:
        finders.append(LISTED_TOKEN)
    return " ".join([*words, *(f"{_quoted(f)}:{_FINDER_POSITION}" for f in finders)])


def words_query(words: Sequence[str]) -> str | None:
    """A tsquery requiring every word among the text's words (``:D``), each word one lexeme or,
    when it holds several (``foo_bar``), those in a row, as FTS5 reads a quoted phrase. None
    when no word holds a lexeme."""
    parts = []
    for word in words:
        found = lexemes(word)
        if found:
            parts.append("(" + " <-> ".join(f"{_quoted(w)}:D" for w in found) + ")")
    return " & ".join(parts) if parts else None


def finder_query(*tokens: str) -> str:
    return "(" + " | ".join(f"{_quoted(t)}:A" for t in tokens) + ")"


class PgSearchIndex:
    def __init__(self, db: PgDatabase) -> None:
        self._db = db

    async def index(self, tx: Tx, entry: IndexedStatus) -> None:
        await executor_of(tx).execute(UPSERT, (entry.id, document_of(entry)))

    async def unindex(self, tx: Tx, status_id: int) -> None:
        await executor_of(tx).execute(UNINDEX, (status_id,))

    async def set_listed(self, tx: Tx, status_ids: Sequence[int], listed: bool) -> None:
        if status_ids:
            token = f"{_quoted(LISTED_TOKEN)}:{_FINDER_POSITION}" if listed else ""
            await executor_of(tx).execute(SET_LISTED, (token, list(status_ids)))

    async def query(
        self,
        words: Sequence[str],
        viewer_id: int,
        limit: int,
        max_id: int | None = None,
        min_id: int | None = None,
        author_id: int | None = None,
    ) -> list[int]:
        matched = words_query(words)
        if matched is None:
            return []
        tsquery = f"{matched} & {finder_query(LISTED_TOKEN, f'a{viewer_id}', f'm{viewer_id}')}"
        shards = self._db.shards
        if author_id is not None:
            tsquery += f" & {finder_query(f'a{author_id}')}"
            shards = [self._db.for_id(author_id)]  # an author's statuses live on its shard
        sql = QUERY
        params: list[object] = [tsquery]
        if max_id is not None:
            sql += " AND status_id < ?"
            params.append(max_id)
        if min_id is not None:
            sql += " AND status_id > ?"
            params.append(min_id)
        ids: list[int] = []
        for shard in shards:
            rows = await shard.fetch_all(sql + QUERY_ORDER, (*params, limit))
            ids.extend(r["status_id"] for r in rows)
        ids.sort(reverse=True)
        return ids

    async def matching(self, words: Sequence[str], status_ids: Sequence[int]) -> list[int]:
        matched = words_query(words)
        if matched is None or not status_ids:
            return []
        out: list[int] = []
        for physical, group in self._db.shard_map.ids_by_physical(status_ids).items():
            rows = await self._db.shards[physical].fetch_all(MATCHING, (matched, group))
            out.extend(r["status_id"] for r in rows)
        return out

    async def rebuild_stale(self) -> int:
        rebuilt = 0
        for shard in self._db.shards:
            async with shard.transaction() as tx:
                # Deleting the mark locks it: a second process waits here, then finds none.
                if await tx.execute(CLAIM_REBUILD) == 0:
                    continue
                await tx.execute("DELETE FROM status_search")
                await _index_stored_statuses(tx)
            rebuilt += 1
        return rebuilt


async def _index_stored_statuses(tx: PgExecutor) -> None:
    after = 0
    while True:
        rows = await tx.fetch_all(REBUILD_PAGE, (after, _REBUILD_BATCH))
        if rows:
            await tx.execute_many(UPSERT, [(e.id, document_of(e)) for e in map(_stored_entry, rows)])
            after = rows[-1]["id"]
        if len(rows) < _REBUILD_BATCH:
            return


def _stored_entry(row: Row) -> IndexedStatus:
    """The index entry of a stored status, as the search service makes it when indexing."""
    mentions = row["mention_ids"]
    mention_ids = tuple(int(m) for m in (mentions.split() if isinstance(mentions, str) else mentions or ()))
    return IndexedStatus(
        id=row["id"], author_id=row["account_id"], mention_ids=mention_ids,
        text=f"{row['spoiler_text']}\n{row['text']}".strip(),
        listed=row["visibility"] == "public" and bool(row["indexable"]),
    )
