"""Read-your-writes across primary and replicas: a session's commit positions per shard.

After a unit of work commits on a shard's primary, the primary's WAL insert position (which
is at or past the commit record) is noted in the caller's ``ReadAfter`` token, if it has one.
A later read on that shard by the same token goes to a replica that has replayed at least
that far, else to the primary. Callers without a token read from any replica within the
configured lag bound.

The token is a plain object the gateway keeps per access token (or session) and installs for
the duration of a request with ``reading_after(token)``; ``to_text``/``from_text`` carry it
across processes (a cookie, a header or a Redis key). Positions only ever grow, and a shard's
entry is dropped once every replica is known to have passed it, so tokens stay small.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar


def lsn_to_int(lsn: str) -> int:
    """PostgreSQL's ``X/Y`` WAL position as a byte offset."""
    high, _, low = lsn.partition("/")
    return (int(high, 16) << 32) + int(low, 16)


def int_to_lsn(position: int) -> str:
    return f"{position >> 32:X}/{position & 0xFFFFFFFF:X}"


class ReadAfter:
    """One session's "I wrote up to here" position per physical shard."""

    __slots__ = ("positions",)

    def __init__(self, positions: dict[int, int] | None = None) -> None:
        self.positions: dict[int, int] = dict(positions or {})

    def note(self, shard: int, position: int) -> None:
        if position > self.positions.get(shard, -1):
            self.positions[shard] = position

    def needs(self, shard: int) -> int | None:
        """The position a read on ``shard`` must see, or None when any replica will do."""
        return self.positions.get(shard)

    def forget_if_replayed(self, shard: int, everywhere: int) -> None:
        """Drop ``shard``'s entry once every replica has replayed to ``everywhere``."""
        position = self.positions.get(shard)
        if position is not None and position <= everywhere:
            del self.positions[shard]

    def to_text(self) -> str:
        return ",".join(f"{shard}:{int_to_lsn(p)}" for shard, p in sorted(self.positions.items()))

    @classmethod
    def from_text(cls, text: str) -> ReadAfter:
        """Parse ``to_text``'s form; raises ValueError on anything else."""
        positions: dict[int, int] = {}
        for part in filter(None, text.split(",")):
            shard, _, lsn = part.partition(":")
            positions[int(shard)] = lsn_to_int(lsn)
        return cls(positions)

    def __repr__(self) -> str:
        return f"ReadAfter({self.to_text()!r})"


current: ContextVar[ReadAfter | None] = ContextVar("roost_read_after", default=None)


@contextlib.contextmanager
def reading_after(token: ReadAfter | None) -> Iterator[ReadAfter | None]:
    """Reads and commits inside this block use (and update) ``token``."""
    reset = current.set(token)
    try:
        yield token
    finally:
        current.reset(reset)
