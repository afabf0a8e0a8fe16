"""Snowflake ids: 41 bits of ms since the epoch | 13 bits of logical shard | 4 bits of worker | 6 bits of sequence."""

from __future__ import annotations

import threading

import pytest

from roost.domain.ids import (
    EPOCH_MS,
    MAX_LOGICAL_SHARDS,
    MAX_WORKERS,
    FixedWorker,
    IdGenerator,
    LeaseLost,
    compose,
    lowest_id_at,
    parse_id,
    shard_of,
    unix_ms_of,
    worker_of,
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
    snowflake = compose(123_456, 8191, 63, worker=15)
    assert shard_of(snowflake) == 8191
    assert worker_of(snowflake) == 15
    assert snowflake & 63 == 63
    assert unix_ms_of(snowflake) == EPOCH_MS + 123_456
    # Oversized shard/worker/sequence values are masked, never bleeding into other fields.
    odd = compose(5, 8192 + 3, 64 + 2, worker=16 + 1)
    assert unix_ms_of(odd) == EPOCH_MS + 5 and shard_of(odd) == 3
    assert worker_of(odd) == 1 and odd & 63 == 2


def test_ids_made_before_the_worker_field_still_route_and_sort() -> None:
    # The first layout: 41 bits of ms | 13 bits of shard | 10 bits of sequence.
    def old_id(ms: int, shard: int, sequence: int) -> int:
        return (ms << 23) | (shard << 10) | sequence

    old = old_id(T0 - EPOCH_MS, 4321, 1023)
    assert shard_of(old) == 4321 and unix_ms_of(old) == T0
    clock = FakeClock(T0)
    new_same_ms = IdGenerator(clock, FixedWorker(15)).next_id(4321)
    assert unix_ms_of(new_same_ms) == T0 and shard_of(new_same_ms) == 4321
    clock.now += 1
    assert old < IdGenerator(clock).next_id(0)  # time still orders old and new alike


def test_lowest_id_at_bounds_every_id_of_that_millisecond() -> None:
    gen = IdGenerator(FakeClock(T0))
    ids = [gen.next_id(s) for s in (0, 5, 8191)]
    assert all(lowest_id_at(T0) <= i < lowest_id_at(T0 + 1) for i in ids)
    assert lowest_id_at(EPOCH_MS - 10) == 0


def test_unique_and_monotonic_under_many_calls_in_one_millisecond() -> None:
    clock = FakeClock(T0)
    gen = IdGenerator(clock)
    ids = [gen.next_id(3) for _ in range(5000)]  # > 64 per ms: borrows following milliseconds
    assert len(set(ids)) == 5000
    assert ids == sorted(ids)
    assert all(shard_of(i) == 3 for i in ids)
    # The 65th id of the millisecond rolls over into the next one with sequence 0.
    assert unix_ms_of(ids[63]) == T0 and unix_ms_of(ids[64]) == T0 + 1
    assert ids[64] & 63 == 0


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
    assert a & 63 == 0 and b & 63 == 0
    assert gen.next_id(1) & 63 == 1


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


def test_generators_with_different_workers_never_collide() -> None:
    # Every worker id at once, same clock, same shard, past the per-ms capacity:
    # what two processes on one shard did before worker ids (both began at sequence 0).
    clock = FakeClock(T0)
    gens = [IdGenerator(clock, FixedWorker(w)) for w in range(MAX_WORKERS)]
    made = [g.next_id(77) for _ in range(200) for g in gens]
    assert len(set(made)) == len(made) == 200 * MAX_WORKERS
    assert {worker_of(i) for i in made} == set(range(MAX_WORKERS))


class Lapsing:
    def __init__(self) -> None:
        self.ok = True

    @property
    def worker_id(self) -> int:
        return 5

    def held(self) -> bool:
        return self.ok


def test_a_lapsed_lease_stops_minting() -> None:
    lease = Lapsing()
    gen = IdGenerator(FakeClock(T0), lease)
    assert worker_of(gen.next_id(1)) == 5
    lease.ok = False
    with pytest.raises(LeaseLost):
        gen.next_id(1)


@pytest.mark.parametrize("worker", [-1, MAX_WORKERS])
def test_out_of_range_worker_is_rejected(worker: int) -> None:
    with pytest.raises(ValueError):
        FixedWorker(worker)


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
