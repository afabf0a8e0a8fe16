"""Failed logins per login name, with an exponentially growing lockout.

Separate from the per-address request budgets: it protects an account however
many addresses the guesses come from. Keyed by the login as typed and normalised
(username or e-mail), so the throttle behaves the same for names that exist and
names that do not, and says nothing about which e-mail belongs to which user.

State lives in the memory of this process: a restart forgets it, and several
gateway processes would each keep their own (the later rate-limiting issue moves
limits to a shared store; this keeps to a three-method interface for that).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Record:
    attempts: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        free_failures: int,
        base_seconds: float,
        max_seconds: float,
        forget_seconds: float,
        clock: Callable[[], float] = time.monotonic,
        max_logins: int = 100_000,
    ) -> None:
        self.free_failures = max(1, free_failures)
        self.base_seconds = base_seconds
        self.max_seconds = max_seconds
        self.forget_seconds = forget_seconds
        self.max_logins = max_logins
        self._clock = clock
        self._records: dict[bytes, _Record] = {}
        self.rejected = 0

    def begin(self, login: str) -> float | None:
        """Before checking a password: None if the attempt may go ahead, else the seconds
        the login stays locked. An attempt that goes ahead counts as a failure at once and
        is forgiven by ``succeeded``, so concurrent guesses cannot all slip in before the
        first one fails."""
        now = self._clock()
        key = _key(login)
        record = self._records.pop(key, None) or _Record()
        if now - record.last > self.forget_seconds and record.locked_until <= now:
            record = _Record()
        if record.locked_until > now:
            self._keep(key, record)
            self.rejected += 1
            return record.locked_until - now
        record.attempts += 1
        record.last = now
        beyond = record.attempts - self.free_failures
        if beyond >= 0:
            record.locked_until = now + min(self.base_seconds * 2 ** min(beyond, 62), self.max_seconds)
        self._keep(key, record)
        return None

    def succeeded(self, login: str) -> None:
        self._records.pop(_key(login), None)

    def _keep(self, key: bytes, record: _Record) -> None:
        # Re-inserted last, so the dict's order is least recently touched first.
        self._records[key] = record
        while len(self._records) > self.max_logins:
            del self._records[next(iter(self._records))]


def _key(login: str) -> bytes:
    # A fixed-size digest: a login can be as long as a request body, the table cannot.
    return hashlib.blake2b(login.encode("utf-8", "surrogatepass"), digest_size=16).digest()
