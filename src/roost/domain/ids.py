"""64-bit, time-ordered IDs that carry their logical shard (Instagram's layout).

    | 41 bits: ms since EPOCH | 13 bits: logical shard | 10 bits: sequence |

Any ID routes to its shard without a lookup, and IDs sort by creation time,
which is what Mastodon's max_id/since_id/min_id pagination relies on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

EPOCH_MS = 1_704_067_200_000  # 2024-01-01T00:00:00Z
TIME_BITS = 41
SHARD_BITS = 13
SEQUENCE_BITS = 10
MAX_LOGICAL_SHARDS = 1 << SHARD_BITS
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1
_SHARD_MASK = (1 << SHARD_BITS) - 1
_TIME_SHIFT = SHARD_BITS + SEQUENCE_BITS


def now_ms() -> int:
    """Wall-clock milliseconds since the Unix epoch (what rows store as created_at)."""
    return time.time_ns() // 1_000_000


def compose(ms_since_epoch: int, shard: int, sequence: int) -> int:
    return (ms_since_epoch << _TIME_SHIFT) | ((shard & _SHARD_MASK) << SEQUENCE_BITS) | (sequence & _SEQUENCE_MASK)


def shard_of(snowflake: int) -> int:
    return (snowflake >> SEQUENCE_BITS) & _SHARD_MASK


def unix_ms_of(snowflake: int) -> int:
    return (snowflake >> _TIME_SHIFT) + EPOCH_MS


def lowest_id_at(unix_ms: int) -> int:
    """The smallest ID that could have been made at ``unix_ms`` (for time-bounded queries)."""
    return max(0, unix_ms - EPOCH_MS) << _TIME_SHIFT


class IdGenerator:
    """Makes unique IDs per logical shard; thread-safe.

    Like Snowflake, it refuses to go backwards: if the clock steps back it keeps
    issuing from the last millisecond it saw, so IDs stay monotonic per shard.
    """

    def __init__(self, clock_ms: Callable[[], int] | None = None) -> None:
        self._clock_ms = clock_ms or now_ms
        self._last: dict[int, tuple[int, int]] = {}
        self._lock = threading.Lock()

    def next_id(self, shard: int) -> int:
        if not 0 <= shard < MAX_LOGICAL_SHARDS:
            raise ValueError(f"logical shard {shard} out of range")
        with self._lock:
            now = self._clock_ms() - EPOCH_MS
            last_ms, seq = self._last.get(shard, (-1, 0))
            if now <= last_ms:
                now = last_ms
                seq += 1
                if seq > _SEQUENCE_MASK:
                    # 1024 IDs in this millisecond already: borrow the next one.
                    now, seq = last_ms + 1, 0
            else:
                seq = 0
            self._last[shard] = (now, seq)
            return compose(now, shard, seq)


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
