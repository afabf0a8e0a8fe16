"""What roost does when its Redis does not answer: one log line per outage (not one per
request), a count per component for /metrics (``roost_redis_unreachable``), and the 503
(with Retry-After) for the few operations that cannot go on without Redis."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable
from typing import TypeVar

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from roost.errors import Unavailable

T = TypeVar("T")
logger = logging.getLogger("roost.redis")

# What a Redis that is down (stopped, restarting, unreachable) raises through redis-py.
DOWN = (RedisConnectionError, RedisTimeoutError, OSError)
# Seconds a client is told to wait: Redis restarts in about that long.
RETRY_AFTER_S = 2

# Operations that found Redis unreachable, by component, in this process (a metric).
UNREACHABLE: Counter[str] = Counter()


class Outage:
    """One component's view of whether Redis answers: logs when an outage starts and ends."""

    def __init__(self, component: str) -> None:
        self.component = component
        self.down = False

    def failed(self, action: str, error: BaseException, going_on: str) -> None:
        UNREACHABLE[self.component] += 1
        if not self.down:
            self.down = True
            logger.warning("%s: Redis unreachable during %s (%s); %s until it answers",
                           self.component, action, error, going_on)

    def answered(self) -> None:
        if self.down:
            self.down = False
            logger.warning("%s: Redis answers again", self.component)

    async def required(self, action: str, work: Awaitable[T]) -> T:
        """Await an operation that cannot go on without Redis: a 503 with Retry-After."""
        try:
            result = await work
        except DOWN as error:
            self.failed(action, error, "answering 503")
            raise unavailable(self.component) from error
        self.answered()
        return result


def unavailable(component: str) -> Unavailable:
    return Unavailable(f"The {component} is unavailable; try again shortly",
                       headers={"Retry-After": str(RETRY_AFTER_S)})
