"""The search service: account prefix search and status full-text search."""

from roost.services.search.schema import MIGRATIONS
from roost.services.search.search import SearchService, fts_query

__all__ = ["MIGRATIONS", "SearchService", "fts_query"]
