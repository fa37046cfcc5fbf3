"""When a failed step attempt is tried again: exponential backoff with a cap."""

from __future__ import annotations

from agentsuite_contracts.steps import RetryPolicy


def delay_ms(policy: RetryPolicy, failures: int) -> int:
    """Milliseconds to wait before the next attempt after `failures` (>= 1) failed ones:
    `initial_delay_ms * backoff ** (failures - 1)`, at most `max_delay_ms`, rounded."""
    if failures < 1:
        raise ValueError(f"failures must be at least 1, got {failures}")
    if policy.initial_delay_ms == 0:
        return 0
    try:
        delay = policy.initial_delay_ms * policy.backoff ** (failures - 1)
    except OverflowError:  # a long run of failures: far beyond any cap
        return policy.max_delay_ms
    # min before round: the product may be inf, which round() refuses
    return round(min(delay, policy.max_delay_ms))


def may_retry(policy: RetryPolicy, failures: int) -> bool:
    """Whether another attempt may follow `failures` failed ones."""
    return failures < policy.max_attempts
