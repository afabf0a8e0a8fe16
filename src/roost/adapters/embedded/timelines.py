"""Home timelines in SQLite with an in-memory LRU of the hottest lists in front.

Durable (unlike Mastodon's Redis feeds) so that a fanout applied before a
crash is still there afterwards; the in-memory copy serves reads. Which lists
were hot is saved at a clean stop, so the next start warms them in the
background instead of paying a disk read on each one's first request.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import sqlite3
import time
from array import array
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

from roost.adapters.embedded.database import connect
from roost.adapters.embedded.faults import FaultRecord, error_for
from roost.adapters.embedded.readiness import write_probe
from roost.domain.pagination import Page

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS timeline_entries ("
    " timeline TEXT NOT NULL, item_id INTEGER NOT NULL,"
    " PRIMARY KEY (timeline, item_id)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS timelines (timeline TEXT PRIMARY KEY) WITHOUT ROWID",
    # The in-memory LRU's keys at the last clean stop, least recently read first.
    "CREATE TABLE IF NOT EXISTS hot_timelines (position INTEGER PRIMARY KEY, timeline TEXT NOT NULL)",
)
# Lists warmed between two yields to the event loop (each is one indexed range read).
_WARM_BATCH = 64
logger = logging.getLogger("roost.timelines")
# Trim a list on disk only every so many pushes: trimming is a range delete.
_TRIM_EVERY = 64


class SqliteTimelineStore:
    def __init__(self, path: Path, max_items: int = 800, hot_lists: int = 50_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(path)
        self.faults = FaultRecord(path.name)
        for statement in _SCHEMA:
            self._conn.execute(statement)
        self._max_items = max_items
        self._hot_lists = hot_lists
        self._hot: OrderedDict[str, array[int]] = OrderedDict()  # ascending ids
        self._built = {r[0] for r in self._conn.execute("SELECT timeline FROM timelines")}
        self._pushes_since_trim: dict[str, int] = defaultdict(int)
        self._batch_lost = False

    def _load(self, timeline: str) -> array[int]:
        ids = self._hot.get(timeline)
        if ids is not None:
            self._hot.move_to_end(timeline)
            return ids
        rows = self._conn.execute(
            "SELECT item_id FROM timeline_entries WHERE timeline = ? ORDER BY item_id DESC LIMIT ?",
            (timeline, self._max_items),
        ).fetchall()
        return self._remember(timeline, array("q", reversed([r[0] for r in rows])))

    def _remember(self, timeline: str, ids: array[int]) -> array[int]:
        self._hot[timeline] = ids
        self._hot.move_to_end(timeline)
        if len(self._hot) > self._hot_lists:
            self._hot.popitem(last=False)
        return ids

    def _begin(self) -> None:
        if not self._conn.in_transaction:
            self._conn.execute("BEGIN IMMEDIATE")

    async def flush(self) -> None:
        """Commit the pushes and removals made since the last flush.

        Fanout to thousands of followers touches thousands of pages; committing
        once per consumer batch instead of once per push writes each page once.
        """
        if self._batch_lost:
            # Part of the batch was rolled back (see _abandon_batch): fail this flush so
            # the consumer does not move its offsets, and handles the round again.
            self._batch_lost = False
            raise error_for(self.faults.last.kind if self.faults.last else "io-error")
        try:
            self._commit_pending()
        finally:
            self._batch_lost = False  # the caller gets the error itself

    def _commit_pending(self) -> None:
        if self._conn.in_transaction:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.Error as exc:
                self._abandon_batch()
                self.faults.raise_for(exc)

    def _abandon_batch(self) -> None:
        """A write of the open batch failed (a full disk): roll the batch back and say
        so at the next flush. SQLite may already have rolled back the whole transaction,
        taking earlier pushes of the batch with it, which the memory copy still shows."""
        if self._conn.in_transaction:
            self._conn.execute("ROLLBACK")
        self._batch_lost = True

    async def probe(self) -> bool:
        """A write probe, unless a fanout batch is open on the connection: committing
        it here would split the batch, so the last result stands (returns False)."""
        if self._conn.in_transaction:
            return False
        try:
            write_probe(self._conn)
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)
        return True

    async def push_many(self, entries: Iterable[tuple[str, int]]) -> None:
        rows = [(t, i) for t, i in entries if t in self._built]
        if not rows:
            return
        try:
            self._begin()
            self._conn.executemany(
                "INSERT INTO timeline_entries (timeline, item_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                rows,
            )
            for timeline, _ in rows:
                self._pushes_since_trim[timeline] += 1
                if self._pushes_since_trim[timeline] >= _TRIM_EVERY:
                    self._trim_on_disk(timeline)
        except sqlite3.Error as exc:
            self._abandon_batch()
            self.faults.raise_for(exc)
        for timeline, item_id in rows:
            ids = self._hot.get(timeline)
            if ids is None:
                continue
            position, present = _find(ids, item_id)
            if not present:
                ids.insert(position, item_id)
                if len(ids) > self._max_items:
                    del ids[: len(ids) - self._max_items]

    def _trim_on_disk(self, timeline: str) -> None:
        self._pushes_since_trim[timeline] = 0
        self._conn.execute(
            "DELETE FROM timeline_entries WHERE timeline = ? AND item_id < ("
            " SELECT item_id FROM timeline_entries WHERE timeline = ?"
            " ORDER BY item_id DESC LIMIT 1 OFFSET ?)",
            (timeline, timeline, self._max_items - 1),
        )

    async def remove_many(self, entries: Iterable[tuple[str, int]]) -> None:
        rows = list(entries)
        try:
            self._begin()
            self._conn.executemany(
                "DELETE FROM timeline_entries WHERE timeline = ? AND item_id = ?", rows
            )
        except sqlite3.Error as exc:
            self._abandon_batch()
            self.faults.raise_for(exc)
        for timeline, item_id in rows:
            ids = self._hot.get(timeline)
            if ids is None:
                continue
            position, present = _find(ids, item_id)
            if present:
                del ids[position]

    async def page(self, timeline: str, page: Page) -> list[int]:
        return page.window(self._load(timeline))

    async def page_if_built(self, timeline: str, page: Page) -> list[int] | None:
        return await self.page(timeline, page) if timeline in self._built else None

    async def exists(self, timeline: str) -> bool:
        return timeline in self._built

    async def replace(self, timeline: str, ids: Sequence[int]) -> None:
        newest = sorted(set(ids))[-self._max_items :]
        self._commit_pending()  # pending fanout writes commit on their own
        try:
            self._replace(timeline, newest)
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)
        self._built.add(timeline)
        self._remember(timeline, array("q", newest))

    def _replace(self, timeline: str, newest: list[int]) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            self._conn.execute("DELETE FROM timeline_entries WHERE timeline = ?", (timeline,))
            self._conn.executemany(
                "INSERT INTO timeline_entries (timeline, item_id) VALUES (?, ?)",
                [(timeline, i) for i in newest],
            )
            self._conn.execute(
                "INSERT INTO timelines (timeline) VALUES (?) ON CONFLICT DO NOTHING", (timeline,)
            )
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise

    async def drop(self, timeline: str) -> None:
        """Forget a timeline (as Mastodon does for inactive users); the next read rebuilds it."""
        self._begin()
        self._conn.execute("DELETE FROM timeline_entries WHERE timeline = ?", (timeline,))
        self._conn.execute("DELETE FROM timelines WHERE timeline = ?", (timeline,))
        self._conn.execute("COMMIT")
        self._built.discard(timeline)
        self._hot.pop(timeline, None)

    def hot_timelines(self) -> list[str]:
        """The lists held in memory, least recently read first."""
        return list(self._hot)

    async def warm(self) -> int:
        """Load the lists that were hot at the last clean stop, hottest first, yielding
        to requests between batches; returns how many were loaded."""
        started = time.monotonic()
        names = [r[0] for r in self._conn.execute(
            "SELECT timeline FROM hot_timelines ORDER BY position DESC LIMIT ?", (self._hot_lists,)
        )]
        loaded = 0
        for n, name in enumerate(names):
            if name in self._built and name not in self._hot and len(self._hot) < self._hot_lists:
                self._load(name)
                # Colder than anything already in memory (read by requests meanwhile).
                self._hot.move_to_end(name, last=False)
                loaded += 1
            if n % _WARM_BATCH == _WARM_BATCH - 1:
                await asyncio.sleep(0)
        if loaded:
            logger.info("warmed %d home timelines in %.1fs", loaded, time.monotonic() - started)
        return loaded

    def _save_hot(self) -> None:
        self._begin()
        self._conn.execute("DELETE FROM hot_timelines")
        self._conn.executemany(
            "INSERT INTO hot_timelines (position, timeline) VALUES (?, ?)", enumerate(self._hot)
        )
        self._conn.execute("COMMIT")

    async def close(self) -> None:
        await self.flush()
        self._save_hot()
        self._conn.close()


def _find(ids: array[int], item_id: int) -> tuple[int, bool]:
    """Where ``item_id`` is (or would go) in an ascending list, and whether it is there."""
    position = bisect.bisect_left(ids, item_id)
    return position, position < len(ids) and ids[position] == item_id
