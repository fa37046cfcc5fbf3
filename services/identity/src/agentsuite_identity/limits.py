"""Per-API-key rate limits on token exchanges: an in-process token bucket per key.

The buckets live in this identity process only: with N identity workers a key may make up
to N x `rate_limit_per_minute` exchanges a minute. That bounds abuse without a write per
exchange; callers cache the exchanged token for its lifetime (the kit's
`ApiKeyExchanger`), so a well-behaved client exchanges a few times per TTL anyway.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from agentsuite_identity.settings import IdentitySettings

MAX_KEYS = 100_000
"""Buckets kept at most; the least recently used is dropped (it refills to full anyway)."""


class KeyLimiter:
    def __init__(
        self,
        settings: IdentitySettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = MAX_KEYS,
    ) -> None:
        self.settings = settings
        self._clock = clock
        self._max = max_keys
        # key id -> (tokens left, when last refilled)
        self._buckets: OrderedDict[UUID, tuple[float, float]] = OrderedDict()

    def take(self, key_id: UUID, per_minute: int | None) -> int | None:
        """Spend one exchange of `key_id`'s budget: None if allowed, else the seconds to
        wait (for `Retry-After`). A key without a limit always passes."""
        if per_minute is None:
            return None
        now = self._clock()
        capacity = float(per_minute)
        rate = capacity / 60.0
        tokens, then = self._buckets.pop(key_id, (capacity, now))
        tokens = min(capacity, tokens + (now - then) * rate)
        if tokens >= 1.0:
            self._buckets[key_id] = (tokens - 1.0, now)
            allowed = True
        else:
            self._buckets[key_id] = (tokens, now)
            allowed = False
        while len(self._buckets) > self._max:
            self._buckets.popitem(last=False)
        if allowed:
            return None
        return max(1, math.ceil((1.0 - tokens) / rate))
