"""A durable, partitioned log in one SQLite file: the embedded stand-in for Kafka/JetStream."""

from __future__ import annotations

import asyncio
import sqlite3
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from roost.adapters.embedded.database import connect
from roost.adapters.embedded.faults import FaultRecord
from roost.adapters.embedded.readiness import write_probe
from roost.ports.log import Record

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS log_records ("
    " partition INTEGER NOT NULL, offset INTEGER NOT NULL, key INTEGER NOT NULL,"
    " event BLOB NOT NULL, PRIMARY KEY (partition, offset)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS log_offsets ("
    " consumer_group TEXT NOT NULL, partition INTEGER NOT NULL, offset INTEGER NOT NULL,"
    " PRIMARY KEY (consumer_group, partition)) WITHOUT ROWID",
)


def partition_for(key: int, partitions: int) -> int:
    """The partition of a key, by a hash of it as Kafka's default partitioner does.

    Keys are snowflake ids, whose low bits are a per-millisecond sequence that is
    0 for most of them: ``key % partitions`` put nearly every event in partition 0.
    CRC-32 of the key's 8 bytes is stable across processes and languages.
    """
    return zlib.crc32(key.to_bytes(8, "little", signed=True)) % partitions


class SqliteLog:
    def __init__(self, path: Path, partitions: int = 8, retention: int = 200_000) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.partitions = partitions
        self._retention = retention
        self._conn = connect(path)
        self.faults = FaultRecord(path.name)
        for statement in _SCHEMA:
            self._conn.execute(statement)
        self._next_offset = [0] * partitions
        for row in self._conn.execute(
            "SELECT partition, MAX(offset) AS last FROM log_records GROUP BY partition"
        ):
            if row["partition"] < partitions:
                self._next_offset[row["partition"]] = row["last"] + 1
        self._committed: dict[tuple[str, int], int] = {
            (r["consumer_group"], r["partition"]): r["offset"]
            for r in self._conn.execute("SELECT consumer_group, partition, offset FROM log_offsets")
        }
        self._new_data = asyncio.Event()
        self.appended = 0

    def partition_for(self, key: int) -> int:
        return partition_for(key, self.partitions)

    def _last_offset(self, partition: int) -> int:
        row = self._conn.execute(
            "SELECT MAX(offset) FROM log_records WHERE partition = ?", (partition,)
        ).fetchone()
        return -1 if row[0] is None else int(row[0])

    async def append_many(self, items: Sequence[tuple[int, dict[str, Any]]]) -> None:
        try:
            self._append_many(items)
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)

    def _append_many(self, items: Sequence[tuple[int, dict[str, Any]]]) -> None:
        # Offsets are assigned inside the write transaction, from the file itself,
        # so another process (the admin CLI) may append to the same log safely.
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            next_offset: dict[int, int] = {}
            rows = []
            for key, event in items:
                partition = self.partition_for(key)
                if partition not in next_offset:
                    next_offset[partition] = max(self._last_offset(partition) + 1, 0)
                rows.append((partition, next_offset[partition], key, orjson.dumps(event)))
                next_offset[partition] += 1
            self._conn.executemany(
                "INSERT INTO log_records (partition, offset, key, event) VALUES (?, ?, ?, ?)", rows
            )
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        for partition, offset in next_offset.items():
            self._next_offset[partition] = offset
        self.appended += len(rows)
        self._new_data.set()

    def committed(self, group: str, partition: int) -> int:
        """The next offset ``group`` will read on ``partition``."""
        return self._committed.get((group, partition), 0)

    async def read(self, group: str, partition: int, max_records: int) -> list[Record]:
        start = self.committed(group, partition)
        rows = self._conn.execute(
            "SELECT offset, key, event FROM log_records WHERE partition = ? AND offset >= ?"
            " ORDER BY offset LIMIT ?",
            (partition, start, max_records),
        ).fetchall()
        return [Record(partition, r["offset"], r["key"], orjson.loads(r["event"])) for r in rows]

    async def commit(self, group: str, partition: int, offset: int) -> None:
        """Mark everything up to and including ``offset`` as processed by ``group``."""
        try:
            self._conn.execute(
                "INSERT INTO log_offsets (consumer_group, partition, offset) VALUES (?, ?, ?)"
                " ON CONFLICT (consumer_group, partition) DO UPDATE SET offset = excluded.offset",
                (group, partition, offset + 1),
            )
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)
        self._committed[(group, partition)] = offset + 1

    async def wait(self, timeout: float) -> None:
        try:
            await asyncio.wait_for(self._new_data.wait(), timeout)
        except TimeoutError:
            return
        self._new_data.clear()

    async def lag(self, group: str) -> int:
        return sum(
            max(0, self._last_offset(p) + 1 - self.committed(group, p)) for p in range(self.partitions)
        )

    async def trim(self) -> int:
        """Drop records older than the retention window that every known group has read."""
        removed = 0
        groups = {g for g, _ in self._committed}
        for p in range(self.partitions):
            floor = self._next_offset[p] - self._retention
            if groups:
                floor = min([floor, *(self.committed(g, p) for g in groups)])
            if floor > 0:
                removed += self._conn.execute(
                    "DELETE FROM log_records WHERE partition = ? AND offset < ?", (p, floor)
                ).rowcount
        return removed

    async def probe(self) -> bool:
        try:
            write_probe(self._conn)
        except sqlite3.Error as exc:
            self.faults.raise_for(exc)
        return True

    async def close(self) -> None:
        self._conn.close()
