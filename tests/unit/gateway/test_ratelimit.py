"""The fixed-window limiter and Mastodon's X-RateLimit-* headers."""

from __future__ import annotations

import asyncio
import re

from roost.gateway.ratelimit import FixedWindowLimiter, is_loopback


def test_fixed_window_allows_the_limit_then_rejects_until_the_next_window() -> None:
    limiter = FixedWindowLimiter(3, 300)
    now = 1_000_000.0  # 1_000_000 % 300 == 100: 200 s left in this window
    decisions = [asyncio.run(limiter.hit("k", now + i)) for i in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert all(d.reset_epoch == 1_000_200 for d in decisions)
    assert limiter.rejected == 1
    assert asyncio.run(limiter.hit("other", now)).allowed  # keys are independent
    assert asyncio.run(limiter.hit("k", 1_000_200.0)).allowed  # a new window


def test_headers_use_mastodons_format() -> None:
    decision = asyncio.run(FixedWindowLimiter(300, 300).hit("k", 1_767_225_600.0))  # 2026-01-01T00:00:00Z
    headers = decision.headers()
    assert headers["X-RateLimit-Limit"] == "300"
    assert headers["X-RateLimit-Remaining"] == "299"
    assert headers["X-RateLimit-Reset"] == "2026-01-01T00:05:00.000000Z"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", headers["X-RateLimit-Reset"])
    assert int(decision.retry_after()) >= 1


def test_loopback() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("127.1.2.3") and is_loopback("::1")
    assert not is_loopback("10.0.0.1") and not is_loopback("testclient") and not is_loopback(None)
