"""When a failed step attempt is tried again: exponential backoff with a cap, drawn within
the policy's jitter, never sooner than a tool's Retry-After; and which errors are tried
again at all (`retry_on`)."""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.steps import RetryPolicy


def delay_ms(
    policy: RetryPolicy, failures: int, *, rng: Callable[[], float] = random.random
) -> int:
    """Milliseconds to wait before the next attempt after `failures` (>= 1) failed ones:
    `d = initial_delay_ms * backoff ** (failures - 1)`, at most `max_delay_ms`, rounded;
    with a jitter, drawn in `[(1 - jitter) * d, d]` (`rng`: a draw in [0, 1)), so the
    retries of many runs failing together do not all arrive together again."""
    if failures < 1:
        raise ValueError(f"failures must be at least 1, got {failures}")
    if policy.initial_delay_ms == 0:
        return 0
    try:
        delay = policy.initial_delay_ms * policy.backoff ** (failures - 1)
    except OverflowError:  # a long run of failures: far beyond any cap
        return _jittered(policy, policy.max_delay_ms, rng)
    # min before round: the product may be inf, which round() refuses
    return _jittered(policy, round(min(delay, policy.max_delay_ms)), rng)


def _jittered(policy: RetryPolicy, delay: int, rng: Callable[[], float]) -> int:
    if policy.jitter == 0 or delay == 0:
        return delay
    # the share taken off is rounded down: the delay never drops below (1 - jitter) * d
    return delay - int(delay * policy.jitter * rng())


# a tool's Retry-After is taken up to a day (what `tools.webhook.retry_after` reads)
MAX_ASKED_S = 86_400


def wait_ms(
    policy: RetryPolicy,
    failures: int,
    error: ErrorInfo,
    *,
    rng: Callable[[], float] = random.random,
) -> int:
    """`delay_ms`, or longer when the failed call asked for it: an HTTP tool's 429/503
    `Retry-After` (`details.retry_after`, seconds) is the least the next attempt waits,
    past the policy's cap too. Trying sooner only meets the same refusal."""
    delay = delay_ms(policy, failures, rng=rng)
    asked = (error.details or {}).get("retry_after")
    if (
        isinstance(asked, int | float)
        and not isinstance(asked, bool)
        and math.isfinite(asked)
        and 0 <= asked < MAX_ASKED_S
    ):
        return max(delay, math.ceil(asked * 1000))
    return delay


def may_retry(policy: RetryPolicy, failures: int) -> bool:
    """Whether another attempt may follow `failures` failed ones."""
    return failures < policy.max_attempts


def retries(policy: RetryPolicy, error: ErrorInfo) -> bool:
    """Whether the policy tries `error` again: a retryable one (trying again may pass)
    whose code `retry_on` lists, or any retryable one when it lists none. A tool's HTTP
    answer is also named by its status, `http_503`. Listing a code narrows what is
    retried; it never repeats an error known not to pass (a 4xx, a refused input)."""
    if not error.retryable:
        return False
    if not policy.retry_on:
        return True
    return bool(_names(error) & set(policy.retry_on))


def _names(error: ErrorInfo) -> set[str]:
    names = {error.code}
    status = (error.details or {}).get("status")
    if isinstance(status, int) and not isinstance(status, bool):
        names.add(f"http_{status}")
    return names
