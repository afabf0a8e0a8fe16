"""64-bit, time-ordered IDs that carry their logical shard and the worker that made them.

    | 41 bits: ms since EPOCH | 13 bits: logical shard | 4 bits: worker | 6 bits: sequence |

Any ID routes to its shard without a lookup, and IDs sort by creation time,
which is what Mastodon's max_id/since_id/min_id pagination relies on.

The worker field is a leased id (ports/shared_state.py: WorkerIdLease): no two
processes hold the same one at once, so two processes never mint the same ID.
It takes the top 4 of what used to be 10 sequence bits, so each process mints up
to 64 IDs per millisecond per logical shard (64,000/s per shard, and statuses
spread over every shard), with at most 16 processes minting at once. IDs made
before the split (10-bit sequence, no worker) keep their time and shard bits in
the same place: they still route, parse and sort by time exactly as before.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol

from roost.errors import Unavailable

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
TIME_BITS = 41
SHARD_BITS = 13
WORKER_BITS = 4
SEQUENCE_BITS = 6
MAX_LOGICAL_SHARDS = 1 << SHARD_BITS
MAX_WORKERS = 1 << WORKER_BITS
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
_WORKER_MASK = (1 << WORKER_BITS) - 1
_SHARD_MASK = (1 << SHARD_BITS) - 1
_LOW_BITS = WORKER_BITS + SEQUENCE_BITS  # below the shard: 10, as in the first layout
_TIME_SHIFT = SHARD_BITS + _LOW_BITS


class WorkerLease(Protocol):
    """What the generator needs of a leased worker id (ports/shared_state.py: WorkerIdLease)."""

    @property
    def worker_id(self) -> int: ...

    def held(self) -> bool:
        """True while the lease is certainly still ours (no I/O: checked per id)."""
        ...


# How long a client is told to wait while the lease is being taken again: about one
# heartbeat of a lease store that has just come back.
LEASE_RETRY_AFTER_S = 5


class LeaseLost(Unavailable):
    """The worker id's lease lapsed (not renewed in time): minting would risk duplicates.
    A 503 with Retry-After: the lease store re-acquires a worker id once it answers again."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"Retry-After": str(LEASE_RETRY_AFTER_S)})


class FixedWorker:
    """A worker id nobody else can hold: a single process with no lease store (tests, tools)."""

    def __init__(self, worker_id: int = 0) -> None:
        if not 0 <= worker_id < MAX_WORKERS:
            raise ValueError(f"worker id {worker_id} out of range")
        self._worker_id = worker_id

    @property
    def worker_id(self) -> int:
        return self._worker_id

    def held(self) -> bool:
        return True


def now_ms() -> int:
    """Wall-clock milliseconds since the Unix epoch (what rows store as created_at)."""
    return time.time_ns() // 1_000_000


def compose(ms_since_epoch: int, shard: int, sequence: int, worker: int = 0) -> int:
    return ((ms_since_epoch << _TIME_SHIFT) | ((shard & _SHARD_MASK) << _LOW_BITS)
            | ((worker & _WORKER_MASK) << SEQUENCE_BITS) | (sequence & _SEQUENCE_MASK))


def shard_of(snowflake: int) -> int:
    return (snowflake >> _LOW_BITS) & _SHARD_MASK


def worker_of(snowflake: int) -> int:
    """The minting worker (meaningless for IDs made before the worker field existed)."""
    return (snowflake >> SEQUENCE_BITS) & _WORKER_MASK


def unix_ms_of(snowflake: int) -> int:
    return (snowflake >> _TIME_SHIFT) + EPOCH_MS


def lowest_id_at(unix_ms: int) -> int:
    """The smallest ID that could have been made at ``unix_ms`` (for time-bounded queries)."""
    return max(0, unix_ms - EPOCH_MS) << _TIME_SHIFT


class IdGenerator:
    """Makes unique IDs per logical shard; thread-safe.

    Like Snowflake, it refuses to go backwards: if the clock steps back it keeps
    issuing from the last millisecond it saw, so IDs stay monotonic per shard.
    Unique across processes because each holds a different worker id; it refuses
    to mint once its lease is no longer certainly held.
    """

    def __init__(self, clock_ms: Callable[[], int] | None = None,
                 lease: WorkerLease | None = None) -> None:
        self._clock_ms = clock_ms or now_ms
        self._lease: WorkerLease = lease or FixedWorker()
        self._last: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    @property
    def worker_id(self) -> int:
        return self._lease.worker_id

    def next_id(self, shard: int) -> int:
        if not 0 <= shard < MAX_LOGICAL_SHARDS:
            raise ValueError(f"logical shard {shard} out of range")
        if not self._lease.held():
            raise LeaseLost(f"worker id {self._lease.worker_id}: lease not renewed in time")
        with self._lock:
            now = self._clock_ms() - EPOCH_MS
            last_ms, seq = self._last.get(shard, (-1, 0))
            if now <= last_ms:
                now = last_ms
                seq += 1
                if seq > _SEQUENCE_MASK:
                    # 64 IDs in this millisecond already: borrow the next one.
                    now, seq = last_ms + 1, 0
            else:
                seq = 0
            self._last[shard] = (now, seq)
            return compose(now, shard, seq, self._lease.worker_id)


def parse_id(value: object) -> int | None:
    """An ID from the wire (a string of digits, or an int); None if it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value < (1 << 63) else None
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 19:
        number = int(value)
        return number if number < (1 << 63) else None
    return None
