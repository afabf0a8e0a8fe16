"""The search service: account prefix search and status full-text search."""

from roost.services.search.search import SearchService, search_words

__all__ = ["SearchService", "search_words"]
