"""The search index: entries found by words and by who may find them (listed, or naming
the viewer as author or mention), newest first within bounds; replace, unindex,
re-listing, probes among given ids, the stale-layout rebuild, restarts."""

from __future__ import annotations

from roost.domain.ids import compose
from roost.ports.search import IndexedStatus
from roost.services.context import Backends

from .conftest import Family

ALICE = compose(1_000, 3, 0)
BOB = compose(1_000, 40, 0)  # another shard than Alice's
CAROL = compose(1_000, 7, 0)


def entry(n: int, author: int, text: str, listed: bool = True, mentions: tuple[int, ...] = ()) -> IndexedStatus:
    logical = 3 if author == ALICE else 40 if author == BOB else 7
    return IndexedStatus(compose(5_000 + n, logical, 0), author, mentions, text, listed)


async def put(b: Backends, *entries: IndexedStatus) -> None:
    for e in entries:
        async with b.db.for_id(e.id).transaction() as tx:
            await b.repos.search_index.index(tx, e)


async def fresh(b: Backends) -> None:
    # A freshly migrated store is marked for the one-off rebuild from stored statuses.
    await b.repos.search_index.rebuild_stale()


def test_listed_entries_are_found_by_anyone_newest_first_across_shards(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        a, bb, c = entry(1, ALICE, "hello roost"), entry(2, BOB, "Hello, world! roost"), entry(3, BOB, "hello")
        await put(b, a, bb, c)
        assert await b.repos.search_index.query(["hello", "roost"], CAROL, 10) == [bb.id, a.id]
        assert await b.repos.search_index.query(["HELLO"], CAROL, 10) == [c.id, bb.id, a.id]
        assert await b.repos.search_index.query(["nothing"], CAROL, 10) == []

    family.run(work)


def test_unlisted_entries_are_found_only_by_their_author_and_mentioned_accounts(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        private = entry(1, ALICE, "secret plans", listed=False, mentions=(BOB,))
        await put(b, private)
        assert await b.repos.search_index.query(["secret"], ALICE, 10) == [private.id]
        assert await b.repos.search_index.query(["secret"], BOB, 10) == [private.id]
        assert await b.repos.search_index.query(["secret"], CAROL, 10) == []

    family.run(work)


def test_query_by_author_bounds_and_limit(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        alices = [entry(n, ALICE, f"word number{n}") for n in range(5)]
        await put(b, *alices, entry(9, BOB, "word"))
        newest = [e.id for e in reversed(alices)]
        assert await b.repos.search_index.query(["word"], CAROL, 10, author_id=ALICE) == newest
        assert await b.repos.search_index.query(["word"], CAROL, 2, author_id=ALICE) == newest[:2]
        assert await b.repos.search_index.query(["word"], CAROL, 10, max_id=newest[1], author_id=ALICE) == newest[2:]
        assert await b.repos.search_index.query(["word"], CAROL, 10, min_id=newest[3], author_id=ALICE) == newest[:3]
        assert await b.repos.search_index.query(["word"], CAROL, 10, author_id=CAROL) == []

    family.run(work)


def test_words_are_never_operators(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        plain = entry(1, ALICE, "cats AND dogs NOT birds")
        await put(b, plain)
        for words in (["AND"], ["NOT", "birds"], ["cats", "OR"], ["NEAR"], ['say"what'], ["body"]):
            found = await b.repos.search_index.query(words, CAROL, 10)
            assert found in ([], [plain.id])  # no syntax error, nothing beyond the words
        assert await b.repos.search_index.query(["NOT", "birds"], CAROL, 10) == [plain.id]
        assert await b.repos.search_index.query(["scope"], CAROL, 10) == []  # only the text is searched
        assert await b.repos.search_index.query([f"a{ALICE}"], CAROL, 10) == []

    family.run(work)


def test_index_again_replaces_and_unindex_removes(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        first = entry(1, ALICE, "old words")
        await put(b, first, first)  # a replay
        assert await b.repos.search_index.query(["old"], CAROL, 10) == [first.id]
        await put(b, IndexedStatus(first.id, ALICE, (), "new words", True))
        assert await b.repos.search_index.query(["old"], CAROL, 10) == []
        assert await b.repos.search_index.query(["words"], CAROL, 10) == [first.id]
        async with b.db.for_id(first.id).transaction() as tx:
            await b.repos.search_index.unindex(tx, first.id)
            await b.repos.search_index.unindex(tx, first.id)  # again: harmless
        assert await b.repos.search_index.query(["words"], ALICE, 10) == []

    family.run(work)


def test_set_listed_changes_who_may_find(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        posts = [entry(n, ALICE, "toggle me") for n in range(3)]
        await put(b, *posts)
        async with b.db.for_id(ALICE).transaction() as tx:
            await b.repos.search_index.set_listed(tx, [p.id for p in posts[:2]], False)
        assert await b.repos.search_index.query(["toggle"], CAROL, 10) == [posts[2].id]
        assert len(await b.repos.search_index.query(["toggle"], ALICE, 10)) == 3  # the author still
        async with b.db.for_id(ALICE).transaction() as tx:
            await b.repos.search_index.set_listed(tx, [p.id for p in posts], True)
        assert len(await b.repos.search_index.query(["toggle"], CAROL, 10)) == 3

    family.run(work)


def test_matching_probes_given_ids_on_every_shard(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        hit_a, hit_b = entry(1, ALICE, "probe me", listed=False), entry(2, BOB, "probe me", listed=False)
        miss, elsewhere = entry(3, ALICE, "something else"), entry(4, BOB, "probe me")
        await put(b, hit_a, hit_b, miss, elsewhere)
        found = await b.repos.search_index.matching(["probe"], [hit_a.id, hit_b.id, miss.id, compose(1, 3, 0)])
        assert sorted(found) == sorted([hit_a.id, hit_b.id])  # listed or not: the caller decided
        assert await b.repos.search_index.matching(["probe"], []) == []
        many = [compose(9_000 + n, 3, 0) for n in range(1_200)] + [hit_a.id]  # beyond one probe's chunk
        assert await b.repos.search_index.matching(["probe"], many) == [hit_a.id]

    family.run(work)


def test_the_stale_layout_rebuild_runs_once_and_survives_restarts(family: Family) -> None:
    kept = entry(1, ALICE, "indexed after the rebuild")

    async def first(b: Backends) -> int:
        rebuilt = await b.repos.search_index.rebuild_stale()
        await put(b, kept)
        return rebuilt + 10 * await b.repos.search_index.rebuild_stale()

    async def after(b: Backends) -> tuple[int, list[int]]:
        return await b.repos.search_index.rebuild_stale(), await b.repos.search_index.query(["rebuild"], CAROL, 10)

    assert family.restart_run(first, after) == [len(family_shards(family)), (0, [kept.id])]


def family_shards(family: Family) -> list[int]:
    return family.run(_shard_indexes)


async def _shard_indexes(b: Backends) -> list[int]:
    return [s.index for s in b.db.shards]
