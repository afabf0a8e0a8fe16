"""The cluster shape's database: PostgreSQL shard primaries with streaming replicas (asyncpg).

``open_postgres(settings)`` opens it from the cluster config; repositories of this family take
a unit of work's executor with ``executor_of(tx)``; ``reading_after(token)`` gives a request
read-your-writes; ``PgMetrics`` puts replication lag on /metrics.
"""

from roost.adapters.postgres.consistency import ReadAfter, reading_after
from roost.adapters.postgres.database import (
           PgDatabase,
           PgExecutor,
           PgShard,
           executor_of,
           open_postgres,
)
from roost.adapters.postgres.metrics import PgMetrics

__all__ = ["PgDatabase", "PgExecutor", "PgMetrics", "PgShard", "ReadAfter", "executor_of",
           "open_postgres", "reading_after"]
