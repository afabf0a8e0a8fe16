"""The transactional outbox's store: events staged in the transaction of the data
they describe, read back in id order by the relay, deleted once published.

The relay deletes exactly the ids it published (``mark_relayed``), never "every id
up to the last one": on an engine whose ids come from a sequence, a transaction can
commit after another that drew a higher id, and its event must still be relayed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from roost.ports.database import Tx


@dataclass(frozen=True)
class OutboxEvent:
    id: int
    key: int  # the log partition key
    event: dict[str, Any]


class OutboxRepository(Protocol):
    async def stage(self, tx: Tx, key: int, event: dict[str, Any]) -> None:
        """Record ``event`` in ``tx``: it becomes pending when ``tx`` commits."""
        ...

    async def pending(self, shard: int, limit: int) -> list[OutboxEvent]:
        """Up to ``limit`` committed, not yet relayed events of physical shard ``shard``, in id order."""
        ...

    async def mark_relayed(self, shard: int, ids: Sequence[int]) -> None:
        """Forget exactly these events (published); others stay pending."""
        ...
