"""Per-provider circuit breakers: closed, open for a cooldown after N straight failures,
then half-open for one probe."""

from __future__ import annotations

import time
from collections.abc import Callable


class Breakers:
    def __init__(
        self, failures: int, cooldown: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.failures = failures
        self.cooldown = cooldown
        self.clock = clock

    def allow(self, key: str) -> bool:
        """Whether a call to `key` may go out now (a half-open breaker lets one through)."""
        raise NotImplementedError

    def success(self, key: str) -> None:
        raise NotImplementedError

    def failure(self, key: str) -> None:
        raise NotImplementedError
