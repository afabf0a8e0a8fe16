"""What the cache codecs and record versions cost, per operation (no server, no I/O).

    python bench/cache_codec.py [--repeat 5]

- codec: encoding and decoding one Status / Account (what a cache in another
  process, Redis, pays per record on every set and get);
- a page of 20 statuses from MemoryCache keeping objects vs keeping bytes
  (ROOST_CACHE_ENCODE): the decode an in-process cache would add to every hit;
- stamping a record's version when it is read from the database;
- the page memo's check of a 20-status page: by (id, version) now, against the
  identity comparison it replaced.
The best of ``--repeat`` runs (the machine's noise only ever adds time).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import timeit
from collections.abc import Callable

from roost.adapters.embedded.cache import MemoryCache
from roost.domain.entities import Account, Status, ViewerFlags
from roost.domain.versions import stamp
from roost.gateway.page_memo import PageMemo
from roost.services.cache_codecs import CODECS


def status(i: int) -> Status:
    record = Status(
        id=(1 << 40) + i, account_id=(1 << 39) + i % 50, text="a status of some length " * 4,
        content="<p>" + "a status of some length " * 4 + "</p>", mention_ids=(11, 12), tags=("tag",),
        created_at_ms=1_700_000_000_000 + i, favourites_count=i % 7, reblogs_count=i % 3,
    )
    stamp(record)
    return record


def best(fn: Callable[[], object], number: int, repeat: int) -> float:
    """Microseconds per call."""
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    s = status(1)
    account = Account(5, "alice", "Alice", "a note", followers_count=10, statuses_count=3)
    stamp(account)
    codec_s, codec_a = CODECS["s"], CODECS["a"]
    data_s, data_a = codec_s.encode(s), codec_a.encode(account)
    print(f"Status: {len(data_s)} bytes; Account: {len(data_a)} bytes")
    print(f"encode Status   {best(lambda: codec_s.encode(s), 100_000, repeat):6.2f} us")
    print(f"decode Status   {best(lambda: codec_s.decode(data_s), 100_000, repeat):6.2f} us")
    print(f"encode Account  {best(lambda: codec_a.encode(account), 100_000, repeat):6.2f} us")
    print(f"decode Account  {best(lambda: codec_a.decode(data_a), 100_000, repeat):6.2f} us")
    print(f"stamp (version) {best(lambda: stamp(s), 100_000, repeat):6.2f} us  (on a database read only)")

    page = [status(i) for i in range(20)]
    ids = [p.id for p in page]
    loop = asyncio.new_event_loop()
    for name, codecs in (("objects", None), ("bytes", CODECS)):
        cache = MemoryCache(codecs=codecs)
        loop.run_until_complete(cache.set_records("s", {p.id: p for p in page}))
        get = cache.get_records

        def read(get: Callable[..., object] = get) -> None:
            with contextlib.suppress(StopIteration):  # it never awaits: run it by hand
                get("s", ids).send(None)  # type: ignore[attr-defined]

        print(f"MemoryCache page of 20 ({name:7}) {best(read, 20_000, repeat):6.2f} us")

    flags = ViewerFlags(frozenset(range(100)), frozenset(range(50)))
    stamp(flags)
    memo = PageMemo(10)
    memo.put("k", page, flags, b"[]", valid_until=1e18)
    same = list(page)
    print(f"page memo check by version  {best(lambda: memo.get('k', same, flags, 0.0), 100_000, repeat):6.2f} us")
    before = IdentityPageMemo()
    before.put("k", page, flags.favourited, flags.reblogged, b"[]", 1e18)
    check = lambda: before.get("k", same, flags.favourited, flags.reblogged, 0.0)  # noqa: E731
    print(f"page memo check by identity {best(check, 100_000, repeat):6.2f} us  (before)")


class IdentityPageMemo:
    """The check PageMemo made before record versions (kept here only to compare)."""

    def __init__(self) -> None:
        self._pages: dict[str, tuple[list[Status], object, object, bytes, float]] = {}
        self.hits = self.misses = 0

    def put(self, key: str, statuses: list[Status], favourited: object, reblogged: object, body: bytes,
            valid_until: float) -> None:
        self._pages[key] = (list(statuses), favourited, reblogged, body, valid_until)

    def get(self, key: str, statuses: list[Status], favourited: object, reblogged: object,
            now: float) -> bytes | None:
        page = self._pages.get(key)
        if (page is None or page[4] < now or page[1] is not favourited
                or page[2] is not reblogged or page[0] != statuses):
            self.misses += 1
            return None
        self.hits += 1
        return page[3]


if __name__ == "__main__":
    main()
