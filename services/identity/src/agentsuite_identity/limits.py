"""Per-API-key rate limits on token exchanges: one limit per key across every identity
process, kept in PostgreSQL as GCRA (the generic cell rate algorithm).

A key allowing `n` exchanges a minute emits one every `60/n` seconds and may burst `n`: its
row holds the theoretical arrival time (TAT) of its next exchange, and an exchange passes
while the TAT is at most `(n - 1) * 60/n` seconds ahead of now, pushing it one interval on.
One upsert decides and records the exchange under the row's lock, so concurrent exchanges
at any number of processes are counted once each (it used to be a bucket per process: N
workers allowed N times the limit). Only keys with a limit write; callers cache the
exchanged token for its life (the kit's `ApiKeyExchanger`), so this is a write per few
minutes per client, not per request.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from uuid import UUID

from agentsuite_identity.uow import IdentityUow


@dataclass(frozen=True, slots=True)
class Rate:
    """GCRA's two numbers for `per_minute` exchanges a minute."""

    interval: float
    """Seconds between exchanges at the sustained rate."""
    tolerance: float
    """How far ahead of now the TAT may be and an exchange still pass (the burst)."""

    @classmethod
    def per_minute(cls, limit: int) -> Rate:
        interval = 60.0 / limit
        return cls(interval, interval * (limit - 1))


def retry_after(ahead: float, rate: Rate) -> int:
    """Whole seconds until an exchange passes, when the TAT is `ahead` seconds from now."""
    return max(1, math.ceil(ahead - rate.tolerance))


class KeyLimiter:
    async def take(self, uow: IdentityUow, key_id: UUID, per_minute: int | None) -> int | None:
        """Spend one exchange of `key_id`'s budget in `uow` (the caller commits): None if
        allowed, else the seconds to wait (for `Retry-After`). A key without a limit
        always passes, without a write."""
        if per_minute is None:
            return None
        rate = Rate.per_minute(per_minute)
        ahead = await uow.api_keys.spend(key_id, rate.interval, rate.tolerance)
        return None if ahead is None else retry_after(ahead, rate)
