"""Who finds which status in full-text search, through the API on the cluster shape: the
search visibility suite of tests/api/test_search_visibility.py (Mastodon 4.2's rules, the
account filter, opting in and out, favourites and follows taken away, paging) run against
roost on PostgreSQL (the tsvector index, adapters/postgres/search.py) instead of SQLite.

Its cases are imported as they are and run here on a ``world`` of this module's, built by the
same ``populate`` on a cluster-shape server. The two cases that rewrite SQLite files or need a
server of their own settings stay with the embedded suite (the index's stale-layout rebuild is
covered on both families by tests/contract/test_search_index.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from api.test_search_visibility import (
    World,
    populate,
    test_account_entity_shows_indexable,
    test_account_id_filter_keeps_the_rules,
    test_hidden_matches_do_not_starve_a_page,
    test_one_word_in_every_status,
    test_opting_in_and_out_changes_what_strangers_find,
    test_paging_through_favourites,
    test_search_matrix,
    test_unfavouriting_and_unfollowing_take_it_away,
    test_without_a_user,
)
from roost.adapters.postgres.search import PgSearchIndex

from .conftest import Cluster
from .test_roost_shape_api import cluster_server

__all__ = [
    "test_account_entity_shows_indexable",
    "test_account_id_filter_keeps_the_rules",
    "test_hidden_matches_do_not_starve_a_page",
    "test_one_word_in_every_status",
    "test_opting_in_and_out_changes_what_strangers_find",
    "test_paging_through_favourites",
    "test_search_matrix",
    "test_unfavouriting_and_unfollowing_take_it_away",
    "test_without_a_user",
]


@pytest.fixture(scope="module")
def world(roost_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    # The usernames are the suite's own (open, shy, erin...): no other test of the shared
    # cluster uses them, and this module builds its world once.
    with cluster_server(roost_cluster, tmp_path_factory.mktemp("search-on-postgres")) as srv:
        assert isinstance(srv.container.storage.repos.search_index, PgSearchIndex)
        yield populate(srv)
