"""The per-login failed-password throttle, on a fake clock."""

from __future__ import annotations

from roost.services.accounts.login_throttle import LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, **kw: float) -> LoginThrottle:
    args = {"free_failures": 5, "base_seconds": 1.0, "max_seconds": 60.0, "forget_seconds": 3600.0, **kw}
    return LoginThrottle(int(args.pop("free_failures")), clock=clock, **args)


def test_five_free_then_a_doubling_lockout_up_to_the_cap() -> None:
    clock = Clock()
    t = throttle(clock)
    assert [t.begin("bob") for _ in range(4)] == [None] * 4
    assert t.begin("bob") is None  # the fifth failure is still checked, and locks
    waits = []
    for _ in range(9):
        wait = t.begin("bob")
        assert wait is not None
        waits.append(wait)
        clock.now += wait
        assert t.begin("bob") is None  # one more guess once the lock is over
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]
    assert t.rejected == 9


def test_other_logins_are_not_affected() -> None:
    clock = Clock()
    t = throttle(clock)
    for _ in range(5):
        t.begin("bob")
    assert t.begin("bob") is not None
    assert t.begin("alice") is None


def test_success_forgives_everything() -> None:
    clock = Clock()
    t = throttle(clock)
    for _ in range(4):
        t.begin("bob")
    t.succeeded("bob")
    assert [t.begin("bob") for _ in range(5)] == [None] * 5


def test_failures_are_forgotten_after_a_quiet_hour() -> None:
    clock = Clock()
    t = throttle(clock)
    for _ in range(5):
        t.begin("bob")
    clock.now += 3601
    assert [t.begin("bob") for _ in range(5)] == [None] * 5


def test_concurrent_attempts_count_before_they_finish() -> None:
    """Attempts begun but not finished still count: a burst cannot outrun the lock."""
    clock = Clock()
    t = throttle(clock)
    allowed = [t.begin("bob") is None for _ in range(100)]
    assert allowed.count(True) == 5


def test_memory_is_bounded() -> None:
    clock = Clock()
    t = throttle(clock)
    t.max_logins = 10
    for i in range(50):
        t.begin(f"user{i}")
    assert len(t._records) == 10


def test_long_logins_cost_a_fixed_size_key() -> None:
    clock = Clock()
    t = throttle(clock)
    t.begin("x" * 1_000_000)
    assert all(len(key) == 16 for key in t._records)
    for _ in range(4):
        t.begin("x" * 1_000_000)
    assert t.begin("x" * 1_000_000) is not None
