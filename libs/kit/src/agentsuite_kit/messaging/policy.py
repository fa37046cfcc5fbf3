"""What a consumer does after a failure: pure decisions, so they are tested without Kafka.

A failed message hops through the group's delayed retry tiers (`<group>.retry.1`, ...),
each with its own delay, and after the last tier lands in `<group>.dlq`. A message whose
handler killed the process `max_crashes` times is dead-lettered without running again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How patiently a consumer group treats failures."""

    tiers: tuple[float, ...] = (10.0, 60.0, 600.0)  # seconds each retry tier waits
    handler_timeout: float = 30.0  # one handler call; past it the message failed
    transient_backoff: tuple[float, float] = (0.1, 5.0)  # first and largest in-place delay
    transient_budget: float = 300.0  # in-place retrying longer than this counts as failure
    max_crashes: int = 3  # process deaths on one message before it is dead-lettered

    def __post_init__(self) -> None:
        if any(d < 0 for d in self.tiers):
            raise ValueError("retry tier delays must be >= 0")
        if self.max_crashes < 1 or self.handler_timeout <= 0:
            raise ValueError("max_crashes >= 1 and handler_timeout > 0 are required")


@dataclass(frozen=True, slots=True)
class Retry:
    """Send to retry tier `tier`, not to be applied before `due_at`."""

    tier: int
    due_at: datetime


@dataclass(frozen=True, slots=True)
class Bury:
    """Send to the group's dead-letter topic."""

    attempts: int = field(default=1)


def after_failure(tier: int, policy: RetryPolicy, now: datetime) -> Retry | Bury:
    """Where a message read from tier `tier` (0: its source topic) goes after failing."""
    if tier < len(policy.tiers):
        return Retry(tier + 1, now + timedelta(seconds=policy.tiers[tier]))
    return Bury(attempts=tier + 1)


def transient_delay(attempt: int, policy: RetryPolicy) -> float:
    """The pause before in-place retry `attempt` (1, 2, ...): doubling, capped."""
    first, cap = policy.transient_backoff
    return float(min(cap, first * 2 ** max(0, attempt - 1)))


def crashed_too_often(attempts: int, policy: RetryPolicy) -> bool:
    """Whether a message whose careful re-run starts for the `attempts`-th time must not run.

    Careful re-runs follow a death (an uncommitted fetch found after reassignment), so
    before the first recorded start the process already died once: the `attempts`-th
    start follows `attempts` deaths.
    """
    return attempts >= policy.max_crashes
