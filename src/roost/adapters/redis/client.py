"""The one asyncio client every Redis adapter of a process shares."""

from __future__ import annotations

from redis.asyncio import BlockingConnectionPool, Redis

# Connections per process; callers past it wait (up to POOL_WAIT_S) instead of failing,
# as redis-py's default pool does once it is exhausted.
MAX_CONNECTIONS = 64
POOL_WAIT_S = 5.0


def connect(host: str, port: int, password: str | None = None, *,
            max_connections: int = MAX_CONNECTIONS, socket_timeout: float = 5.0) -> Redis:
    pool = BlockingConnectionPool(host=host, port=port, password=password, max_connections=max_connections,
                                  timeout=POOL_WAIT_S, socket_timeout=socket_timeout,
                                  socket_connect_timeout=socket_timeout)
    return Redis.from_pool(pool)  # closing the client closes its pool
