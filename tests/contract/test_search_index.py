"""The search index: entries found by words and by who may find them (listed, or naming
the viewer as author or mention), newest first within bounds; replace, unindex,
re-listing, probes among given ids, the stale-layout rebuild, restarts."""

from __future__ import annotations

from typing import Any

from roost.adapters.sql.units import executor
from roost.domain.entities import Status
from roost.domain.ids import IdGenerator, compose, shard_of
from roost.ports.accounts import NewAccount, ProfileChange
from roost.ports.search import IndexedStatus
from roost.services.context import Backends

from .conftest import ALL_FAMILIES, Family

FAMILIES = ALL_FAMILIES

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


def test_the_author_filter_keeps_who_may_find(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        unlisted = entry(1, ALICE, "quiet note", listed=False, mentions=(BOB,))
        await put(b, unlisted)
        for viewer, found in ((ALICE, [unlisted.id]), (BOB, [unlisted.id]), (CAROL, [])):
            assert await b.repos.search_index.query(["quiet"], viewer, 10, author_id=ALICE) == found

    family.run(work)


def test_bounds_and_limit_apply_on_every_shard(family: Family) -> None:
    async def work(b: Backends) -> None:
        await fresh(b)
        mixed = [entry(n, ALICE if n % 2 else BOB, "paged words") for n in range(6)]
        await put(b, *mixed)
        newest = [e.id for e in sorted(mixed, key=lambda e: e.id, reverse=True)]
        everything = await b.repos.search_index.query(["paged"], CAROL, 10)
        assert everything == newest
        # At most ``limit`` from each shard, merged newest first: the caller trims.
        per_shard = await b.repos.search_index.query(["paged"], CAROL, 1)
        assert per_shard == sorted((max(e.id for e in mixed if e.author_id == a) for a in (ALICE, BOB)),
                                   reverse=True)
        below = await b.repos.search_index.query(["paged"], CAROL, 10, max_id=newest[2])
        assert below == newest[3:]
        between = await b.repos.search_index.query(["paged"], CAROL, 10, max_id=newest[0], min_id=newest[4])
        assert between == newest[1:4]

    family.run(work)


def test_words_are_read_as_the_embedded_tokenizer_reads_them(family: Family) -> None:
    """Letters and digits make words, case and diacritics fold in every script, links and
    addresses are words too, nothing is stemmed; a word holding several (``foo_bar``) needs
    them in a row."""
    text = "Café crème: see https://github.com/roost/issues or bob@example.org, foo bar; ПРИВЕТ мир 2024"

    async def work(b: Backends) -> None:
        await fresh(b)
        post = entry(1, ALICE, text)
        await put(b, post)
        for words in (["cafe"], ["CAFÉ"], ["creme"], ["github"], ["issues"], ["github.com"], ["bob"],
                      ["example", "org"], ["привет"], ["МИР"], ["2024"], ["foo_bar"], ["see", "cafe"]):
            assert await b.repos.search_index.query(words, CAROL, 10) == [post.id], words
            assert await b.repos.search_index.matching(words, [post.id]) == [post.id], words
        for words in (["caf"], ["cafes"], ["bar_foo"], ["roost_issues_github"], ["cafe", "tea"]):
            assert await b.repos.search_index.query(words, CAROL, 10) == [], words
            assert await b.repos.search_index.matching(words, [post.id]) == [], words

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


def test_two_processes_replaying_the_same_entries_at_once_keep_one_each(family: Family) -> None:
    entries = [entry(n, ALICE if n % 2 else BOB, f"raced words {n}") for n in range(40)]

    async def replay(b: Backends) -> None:
        await put(b, *entries)

    family.run(fresh)
    family.run_at_once(replay, replay)

    async def found(b: Backends) -> list[int]:
        return await b.repos.search_index.query(["raced"], CAROL, 100)

    assert family.run(found) == sorted((e.id for e in entries), reverse=True)


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


STATUS_IDS = IdGenerator()


def account(logical: int, name: str) -> NewAccount:
    return NewAccount(STATUS_IDS.next_id(logical), name, f"{name}@example.org", "hash", name, 1_000)


def status(author: int, text: str, **fields: Any) -> Status:
    return Status(id=STATUS_IDS.next_id(shard_of(author)), account_id=author, text=text,
                  content=f"<p>{text}</p>", created_at_ms=1_700_000_000_000, **fields)


async def mark_stale(b: Backends) -> None:
    """As a store whose index predates the current layout: the mark both families keep."""
    for shard in b.db.shards:
        async with shard.transaction() as tx:
            await executor(tx).execute("INSERT INTO search_backfill (pending) VALUES (1)")


def test_the_rebuild_indexes_stored_statuses_by_todays_rules(family: Family) -> None:
    """Stored statuses indexed again from the statuses table: text and spoiler text, who may
    find each (public and indexable author, author, mentions), and no reblog wrappers."""
    async def work(b: Backends) -> None:
        await fresh(b)
        author, quiet, named, stranger = (account(3, "author"), account(40, "quiet"), account(7, "named"),
                                          account(40, "stranger"))
        for a in (author, quiet, named, stranger):
            await b.repos.accounts.insert(a)
        async with b.db.for_id(author.id).transaction() as tx:
            await b.repos.accounts.update_profile(tx, author.id, ProfileChange(indexable=True))
        public = status(author.id, "zqrebuild in the open", spoiler_text="warning")
        private = status(author.id, "zqrebuild between us", visibility="private", mention_ids=(named.id,))
        wrapper = status(author.id, "zqrebuild", reblog_of_id=public.id)
        unsearchable = status(quiet.id, "zqrebuild not indexable")
        for s in (public, private, wrapper, unsearchable):
            async with b.db.for_id(s.id).transaction() as tx:
                await b.repos.statuses.insert(tx, s, None)
        await mark_stale(b)
        assert await b.repos.search_index.rebuild_stale() == len(b.db.shards)
        index = b.repos.search_index
        assert await index.query(["zqrebuild"], stranger.id, 10) == [public.id]
        assert await index.query(["zqrebuild"], author.id, 10) == [private.id, public.id]
        assert await index.query(["zqrebuild"], named.id, 10) == [private.id, public.id]
        assert await index.query(["zqrebuild"], quiet.id, 10) == [unsearchable.id, public.id]
        assert await index.query(["warning", "open"], stranger.id, 10) == [public.id]
        assert await index.rebuild_stale() == 0

    family.run(work)


def family_shards(family: Family) -> list[int]:
    return family.run(_shard_indexes)


async def _shard_indexes(b: Backends) -> list[int]:
    return [s.index for s in b.db.shards]
