"""Snowflake ids: 41 bits of ms since the epoch | 13 bits of logical shard | 10 bits of sequence."""

from __future__ import annotations

import threading

import pytest

from roost.domain.ids import (
    EPOCH_MS,
    MAX_LOGICAL_SHARDS,
    IdGenerator,
    compose,
    lowest_id_at,
    parse_id,
    shard_of,
    unix_ms_of,
)


class FakeClock:
    def __init__(self, now_ms: int) -> None:
        self.now = now_ms

    def __call__(self) -> int:
        return self.now


T0 = EPOCH_MS + 86_400_000 * 400  # some day in 2025


def test_ids_sort_by_time_whatever_the_shard() -> None:
    clock = FakeClock(T0)
    gen = IdGenerator(clock)
    early_high_shard = gen.next_id(MAX_LOGICAL_SHARDS - 1)
    clock.now += 1
    late_low_shard = gen.next_id(0)
    assert early_high_shard < late_low_shard


def test_ids_increase_with_the_clock() -> None:
    clock = FakeClock(T0)
    gen = IdGenerator(clock)
    ids = []
    for _ in range(50):
        ids.append(gen.next_id(7))
        clock.now += 3
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


@pytest.mark.parametrize("shard", [0, 1, 42, 1023, 4096, MAX_LOGICAL_SHARDS - 1])
def test_shard_and_time_round_trip(shard: int) -> None:
    gen = IdGenerator(FakeClock(T0))
    snowflake = gen.next_id(shard)
    assert shard_of(snowflake) == shard
    assert unix_ms_of(snowflake) == T0
    assert 0 < snowflake < 1 << 63


def test_compose_keeps_fields_apart() -> None:
    snowflake = compose(123_456, 8191, 1023)
    assert shard_of(snowflake) == 8191
    assert snowflake & 1023 == 1023
    assert unix_ms_of(snowflake) == EPOCH_MS + 123_456
    # Oversized shard/sequence values are masked, never bleeding into the time bits.
    assert unix_ms_of(compose(5, 8192 + 3, 1024 + 2)) == EPOCH_MS + 5
    assert shard_of(compose(5, 8192 + 3, 0)) == 3


def test_lowest_id_at_bounds_every_id_of_that_millisecond() -> None:
    gen = IdGenerator(FakeClock(T0))
    ids = [gen.next_id(s) for s in (0, 5, 8191)]
    assert all(lowest_id_at(T0) <= i < lowest_id_at(T0 + 1) for i in ids)
    assert lowest_id_at(EPOCH_MS - 10) == 0


def test_unique_and_monotonic_under_many_calls_in_one_millisecond() -> None:
    clock = FakeClock(T0)
    gen = IdGenerator(clock)
    ids = [gen.next_id(3) for _ in range(5000)]  # > 1024 per ms: borrows following milliseconds
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)
    assert all(shard_of(i) == 3 for i in ids)
    # The 1025th id of the millisecond rolls over into the next one with sequence 0.
    assert unix_ms_of(ids[1023]) == T0 and unix_ms_of(ids[1024]) == T0 + 1
    assert ids[1024] & 1023 == 0


def test_unique_across_threads_with_the_real_clock() -> None:
    gen = IdGenerator()
    results: list[list[int]] = [[] for _ in range(4)]

    def work(slot: int) -> None:
        results[slot] = [gen.next_id(11) for _ in range(3000)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for r in results for i in r]
    assert len(set(everything)) == len(everything) == 12_000
    for r in results:
        assert r == sorted(r)


def test_shards_have_independent_sequences() -> None:
    gen = IdGenerator(FakeClock(T0))
    a, b = gen.next_id(1), gen.next_id(2)
    assert a & 1023 == 0 and b & 1023 == 0
    assert gen.next_id(1) & 1023 == 1


def test_clock_going_backwards_never_goes_backwards() -> None:
    clock = FakeClock(T0)
    gen = IdGenerator(clock)
    before = [gen.next_id(9) for _ in range(3)]
    clock.now -= 5_000  # NTP steps the clock back five seconds
    after = [gen.next_id(9) for _ in range(3)]
    seq = before + after
    assert seq == sorted(seq) and len(set(seq)) == len(seq)
    assert all(shard_of(i) == 9 for i in seq)
    assert all(unix_ms_of(i) >= T0 for i in after)
    clock.now = T0 + 10  # time moves on again: ids resume from the clock
    later = gen.next_id(9)
    assert later > seq[-1] and unix_ms_of(later) == T0 + 10


@pytest.mark.parametrize("shard", [-1, MAX_LOGICAL_SHARDS, 10**6])
def test_out_of_range_shard_is_rejected(shard: int) -> None:
    with pytest.raises(ValueError):
        IdGenerator(FakeClock(T0)).next_id(shard)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("123", 123),
        (123, 123),
        ("0", 0),
        (str((1 << 63) - 1), (1 << 63) - 1),
        (str(1 << 63), None),
        (1 << 63, None),
        ("99999999999999999999", None),
        (-1, None),
        ("-1", None),
        ("", None),
        ("abc", None),
        ("12a", None),
        (" 12", None),
        ("1.5", None),
        (1.0, None),
        (True, None),
        (False, None),
        (None, None),
        (["1"], None),
    ],
)
def test_parse_id(raw: object, expected: int | None) -> None:
    assert parse_id(raw) == expected


@pytest.mark.parametrize("raw", ["²", "١٢", "\uff11\uff12"])
def test_parse_id_rejects_non_ascii_digits(raw: str) -> None:
    assert parse_id(raw) is None
