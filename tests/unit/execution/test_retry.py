"""Retry backoff: exponential from the initial delay, capped, integer milliseconds, drawn
within the policy's jitter; only the error codes `retry_on` lists are retried."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.steps import RetryPolicy
from agentsuite_execution.domain.retry import delay_ms, may_retry, retries, wait_ms


def test_first_retry_waits_the_initial_delay() -> None:
    assert delay_ms(RetryPolicy(initial_delay_ms=250, backoff=3), 1) == 250


def test_delay_grows_by_backoff_per_failure() -> None:
    policy = RetryPolicy(initial_delay_ms=1000, backoff=1.5, max_delay_ms=60_000)
    assert [delay_ms(policy, n) for n in (1, 2, 3, 4)] == [1000, 1500, 2250, 3375]


def test_delay_is_capped_by_max_delay() -> None:
    policy = RetryPolicy(initial_delay_ms=1000, backoff=2, max_delay_ms=5000)
    assert [delay_ms(policy, n) for n in (3, 4, 5)] == [4000, 5000, 5000]


def test_fractional_delay_rounds_to_whole_milliseconds() -> None:
    delay = delay_ms(RetryPolicy(initial_delay_ms=100, backoff=1.1), 3)
    assert delay == 121
    assert isinstance(delay, int)


def test_backoff_of_one_keeps_the_delay_constant() -> None:
    policy = RetryPolicy(initial_delay_ms=700, backoff=1)
    assert {delay_ms(policy, n) for n in range(1, 20)} == {700}


def test_zero_initial_delay_retries_at_once() -> None:
    assert delay_ms(RetryPolicy(initial_delay_ms=0, backoff=10), 50) == 0


def test_cap_below_initial_delay_wins() -> None:
    assert delay_ms(RetryPolicy(initial_delay_ms=5000, max_delay_ms=100), 1) == 100


def test_huge_failure_counts_do_not_overflow() -> None:
    policy = RetryPolicy(initial_delay_ms=1000, backoff=10, max_delay_ms=60_000)
    assert delay_ms(policy, 100_000) == 60_000
    # a product that overflows to inf without raising
    assert delay_ms(RetryPolicy(initial_delay_ms=10**5, backoff=1e305, max_delay_ms=9), 2) == 9


def test_zero_failures_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        delay_ms(RetryPolicy(), 0)


def test_may_retry_until_attempts_are_used_up() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert [may_retry(policy, n) for n in (1, 2, 3, 4)] == [True, True, False, False]


def test_default_policy_never_retries() -> None:
    assert not may_retry(RetryPolicy(), 1)


@given(
    initial=st.integers(0, 10**7),
    backoff=st.floats(1, 1e6),
    cap=st.integers(0, 10**8),
    failures=st.integers(1, 10_000),
)
def test_delay_is_monotonic_and_within_bounds(
    initial: int, backoff: float, cap: int, failures: int
) -> None:
    policy = RetryPolicy(initial_delay_ms=initial, backoff=backoff, max_delay_ms=cap)
    delay = delay_ms(policy, failures)
    assert 0 <= delay <= cap
    assert delay >= min(initial, cap)
    assert delay_ms(policy, failures + 1) >= delay


# --- jitter: each delay drawn in [(1 - jitter) * d, d] ---------------------------------------


def test_jitter_draws_the_delay_below_its_backoff_value() -> None:
    policy = RetryPolicy(initial_delay_ms=1000, backoff=2, jitter=0.2)
    # the draw 0 keeps the whole delay, a draw near 1 takes off the jitter's share
    assert delay_ms(policy, 2, rng=lambda: 0.0) == 2000
    assert delay_ms(policy, 2, rng=lambda: 0.5) == 1800
    assert delay_ms(policy, 2, rng=lambda: 0.999999) == 1601


def test_no_jitter_draws_nothing() -> None:
    def never() -> float:
        raise AssertionError("no jitter: no draw")

    assert delay_ms(RetryPolicy(initial_delay_ms=300), 1, rng=never) == 300


def test_jitter_spreads_the_delays_of_many_runs() -> None:
    policy = RetryPolicy(initial_delay_ms=10_000, jitter=0.5)
    assert len({delay_ms(policy, 1) for _ in range(50)}) > 1


@given(
    initial=st.integers(0, 10**7),
    backoff=st.floats(1, 1e6),
    cap=st.integers(0, 10**8),
    failures=st.integers(1, 10_000),
    jitter=st.floats(0, 1),
    draw=st.floats(0, 1, exclude_max=True),
)
def test_a_jittered_delay_stays_within_its_bounds(
    initial: int, backoff: float, cap: int, failures: int, jitter: float, draw: float
) -> None:
    plain = RetryPolicy(initial_delay_ms=initial, backoff=backoff, max_delay_ms=cap)
    d = delay_ms(plain, failures)
    jittered = plain.model_copy(update={"jitter": jitter})
    delay = delay_ms(jittered, failures, rng=lambda: draw)
    assert isinstance(delay, int)
    assert (1 - jitter) * d <= delay <= d


# --- retry_on: only the listed error codes are retried ----------------------------------------


def error(code: str, *, retryable: bool = True, **details: object) -> ErrorInfo:
    return ErrorInfo(code=code, message=code, retryable=retryable, details=details or None)


def test_an_empty_retry_on_retries_every_retryable_error() -> None:
    policy = RetryPolicy(max_attempts=3)
    assert retries(policy, error("timeout"))
    assert retries(policy, error("tool_error"))
    assert not retries(policy, error("tool_error", retryable=False))


def test_retry_on_retries_only_the_codes_it_lists() -> None:
    policy = RetryPolicy(max_attempts=3, retry_on=["timeout"])
    assert retries(policy, error("timeout"))
    assert not retries(policy, error("network_error"))


def test_retry_on_never_retries_an_error_known_not_to_pass() -> None:
    # listing a code narrows what is retried; it does not make a refusal worth repeating
    policy = RetryPolicy(max_attempts=3, retry_on=["tool_error"])
    assert not retries(policy, error("tool_error", retryable=False))


def test_retry_on_names_a_tool_answer_by_its_http_status() -> None:
    policy = RetryPolicy(max_attempts=3, retry_on=["http_503"])
    assert retries(policy, error("tool_error", status=503))
    assert not retries(policy, error("tool_error", status=502))
    assert not retries(policy, error("tool_error"))


# --- Retry-After: a tool's asked wait is the least the next attempt waits --------------------


def test_a_tools_retry_after_is_waited_at_least() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay_ms=10, max_delay_ms=1000)
    assert wait_ms(policy, 1, error("tool_error", status=503, retry_after=7.0)) == 7000
    # past the policy's cap too: the tool said when it can answer again
    assert wait_ms(policy, 1, error("tool_error", retry_after=30)) == 30_000


def test_a_shorter_retry_after_leaves_the_back_off() -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay_ms=5000)
    assert wait_ms(policy, 1, error("tool_error", retry_after=1)) == 5000


@pytest.mark.parametrize("asked", [None, "7", True, -1, float("nan"), float("inf"), 10**9])
def test_a_retry_after_that_is_not_sane_seconds_is_ignored(asked: object) -> None:
    policy = RetryPolicy(max_attempts=3, initial_delay_ms=10)
    assert wait_ms(policy, 1, error("tool_error", retry_after=asked)) == 10
