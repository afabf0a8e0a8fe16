"""Fixed-window rate limits with Mastodon's defaults and X-RateLimit-* headers.

Kept deliberately small here: the rate-limiting building block (token bucket,
leaky bucket, sliding window) is a later issue. The counters live behind the
RateLimitStore port (ports/shared_state.py), so every process of a deployment
counts against one budget (Redis) instead of each its own. Loopback is exempt by
default, as in Mastodon.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from roost.adapters.embedded.shared_state import MemoryRateLimitStore
from roost.ports.shared_state import RateLimitStore


@dataclass
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset_epoch: float

    def headers(self) -> dict[str, str]:
        reset = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(self.reset_epoch))
        micros = int((self.reset_epoch % 1) * 1_000_000)
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": f"{reset}.{micros:06d}Z",
        }

    def retry_after(self) -> str:
        return str(max(1, int(self.reset_epoch - time.time() + 0.999)))


class FixedWindowLimiter:
    def __init__(self, limit: int, window_seconds: int, store: RateLimitStore | None = None,
                 name: str = "") -> None:
        self.limit = limit
        # Keeps this limiter's counters apart from the others' in a shared store.
        self.name = name
        self.window = window_seconds
        self.store: RateLimitStore = store or MemoryRateLimitStore()
        self.rejected = 0

    async def hit(self, key: str, now: float | None = None) -> Decision:
        now = time.time() if now is None else now
        window = int(now // self.window)
        count = await self.store.increment(f"{self.name}:{key}", window, self.window)
        reset = (window + 1) * self.window
        allowed = count <= self.limit
        if not allowed:
            self.rejected += 1
        return Decision(allowed, self.limit, max(0, self.limit - count), reset)


def is_loopback(host: str | None) -> bool:
    return host is not None and (host.startswith("127.") or host in ("::1", "localhost"))
