"""The log port: a durable, partitioned, append-only event log with consumer groups.

Events with the same key land in the same partition, so per-key order holds
(a status's creation is always seen before its deletion). Consumers commit an
offset per partition; after a crash they resume from the last commit, so
delivery is at-least-once and handlers must be idempotent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class Record:
    partition: int
    offset: int
    key: int
    event: dict[str, Any]


class Log(Protocol):
    partitions: int

    async def append_many(self, items: Sequence[tuple[int, dict[str, Any]]]) -> None:
        """Append (key, event) pairs durably before returning."""
        ...

    async def read(self, group: str, partition: int, max_records: int) -> list[Record]:
        """Records after the group's committed offset on this partition."""
        ...

    async def commit(self, group: str, partition: int, offset: int) -> None: ...
    async def wait(self, timeout: float) -> None:
        """Return when new records may be there (or after ``timeout`` seconds)."""
        ...

    async def lag(self, group: str) -> int:
        """Records appended but not yet committed by ``group``, over all partitions."""
        ...

    async def close(self) -> None: ...
