"""The PostgreSQL family's figures for /metrics, read at scrape time: replication lag per
replica (bytes and seconds, as the monitor last measured), whether each node is used for
reads, reads served per node, and reads sent to a primary for read-your-writes.

The gateway registers it once it runs on the cluster shape:
``registry.register(PgMetrics(database))``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from roost.adapters.postgres.database import PgDatabase


class PgMetrics(Collector):
    def __init__(self, database: PgDatabase) -> None:
        self.database = database

    def collect(self) -> Iterator[Any]:
        lag_bytes = GaugeMetricFamily("roost_pg_replica_lag_bytes",
                                      "WAL bytes a replica has not replayed yet", labels=["shard", "node"])
        lag_seconds = GaugeMetricFamily("roost_pg_replica_lag_seconds",
                                        "How long ago its primary passed a replica's replay position",
                                        labels=["shard", "node"])
        usable = GaugeMetricFamily("roost_pg_replica_readable",
                                   "1 when a replica answers and is within max_replica_lag_seconds",
                                   labels=["shard", "node"])
        reads = CounterMetricFamily("roost_pg_reads", "Reads outside units of work, by node served",
                                    labels=["shard", "node", "role"])
        ryw = CounterMetricFamily("roost_pg_read_your_writes_on_primary",
                                  "Reads sent to the primary because no usable replica had the caller's write",
                                  labels=["shard"])
        for shard in self.database.shards:
            label = str(shard.index)
            for replica in shard.replicas:
                if replica.lag_bytes is not None:
                    lag_bytes.add_metric([label, replica.name], replica.lag_bytes)
                if replica.lag_seconds is not None:
                    lag_seconds.add_metric([label, replica.name], replica.lag_seconds)
                usable.add_metric([label, replica.name],
                                  1.0 if replica.usable(shard.max_replica_lag_seconds) else 0.0)
            for node in shard.nodes:
                reads.add_metric([label, node.name, node.role], node.reads)
            ryw.add_metric([label], shard.read_your_writes_on_primary)
        yield from (lag_bytes, lag_seconds, usable, reads, ryw)
