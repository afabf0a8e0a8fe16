"""Workers: log consumers (fanout, notifier, indexer, relations) and the runner they share."""

from roost.workers.consumer import Consumer
from roost.workers.fanout import FanoutWorker
from roost.workers.indexer import IndexerWorker
from roost.workers.notifier import NotifierWorker
from roost.workers.relations import RelationsWorker

__all__ = ["Consumer", "FanoutWorker", "IndexerWorker", "NotifierWorker", "RelationsWorker"]
