"""Per-provider circuit breakers: closed, open for a cooldown after N straight failures,
then half-open for one probe.

A breaker is closed while fewer than `failures` calls in a row have failed. The failure
that reaches the count opens it: `allow` refuses for `cooldown` seconds. After that it is
half-open: `allow` lets exactly one call through (the probe) and refuses the others until
the probe reports; a success closes the breaker, a failure reopens it for another
cooldown. A probe that never reports (its caller was cancelled and did not `release`) is
presumed lost after another cooldown, so the breaker cannot stay shut for good.

Callers report only what says something about the provider (5xx, 429, timeouts, cut
streams); a caller's own 4xx is neither a success nor a failure, so it should `release`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass(slots=True)
class _Breaker:
    streak: int = 0  # consecutive failures while closed
    opened_at: float | None = None  # None: closed
    probe_since: float | None = None  # when the half-open probe went out


class Breakers:
    def __init__(
        self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self.clock = clock
        self._breakers: dict[str, _Breaker] = {}

    def allow(self, key: str) -> bool:
        """Whether a call to `key` may go out now (a half-open breaker lets one through)."""
        b = self._breakers.get(key)
        if b is None or b.opened_at is None:
            return True
        now = self.clock()
        if now - b.opened_at < self.cooldown:
            return False
        if b.probe_since is not None and now - b.probe_since < self.cooldown:
            return False  # a probe is out: the others wait for its verdict
        b.probe_since = now
        return True

    def success(self, key: str) -> None:
        b = self._breakers.get(key)
        if b is not None:
            b.streak, b.opened_at, b.probe_since = 0, None, None

    def failure(self, key: str) -> None:
        b = self._breakers.setdefault(key, _Breaker())
        now = self.clock()
        if b.opened_at is not None:
            if b.probe_since is not None:  # the probe failed: another full cooldown
                b.opened_at, b.probe_since = now, None
            # else: a call let through before the breaker opened; it changes nothing
            return
        b.streak += 1
        if b.streak >= self.failures:
            b.opened_at, b.probe_since = now, None

    def release(self, key: str) -> None:
        """Free the probe slot without a verdict (the call ended for a reason that says
        nothing about the provider: cancelled, or a client error)."""
        b = self._breakers.get(key)
        if b is not None:
            b.probe_since = None

    def state(self, key: str) -> State:
        b = self._breakers.get(key)
        if b is None or b.opened_at is None:
            return "closed"
        return "open" if self.clock() - b.opened_at < self.cooldown else "half_open"

    def states(self) -> dict[str, State]:
        """Every breaker that is not closed, for readiness and diagnostics."""
        found = {key: self.state(key) for key in self._breakers}
        return {key: state for key, state in found.items() if state != "closed"}
