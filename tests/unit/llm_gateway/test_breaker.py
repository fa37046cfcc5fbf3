"""Circuit breakers: open after N straight failures, cooldown, one probe, reclose."""

from __future__ import annotations

from agentsuite_llm_gateway.domain.breaker import Breakers


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make(failures: int = 3, cooldown: float = 10.0) -> tuple[Breakers, Clock]:
    clock = Clock()
    return Breakers(failures, cooldown, clock), clock


def test_opens_after_consecutive_failures_only() -> None:
    b, _ = make(failures=3)
    b.failure("p")
    b.failure("p")
    b.success("p")  # the streak restarts
    b.failure("p")
    b.failure("p")
    assert b.allow("p")
    assert b.state("p") == "closed"
    b.failure("p")
    assert b.state("p") == "open"
    assert not b.allow("p")


def test_breakers_are_per_key() -> None:
    b, _ = make(failures=1)
    b.failure("a")
    assert not b.allow("a")
    assert b.allow("b")
    assert b.state("b") == "closed"
    assert b.states() == {"a": "open"}


def test_cooldown_then_exactly_one_probe() -> None:
    b, clock = make(failures=1, cooldown=10)
    b.failure("p")
    clock.now += 9.9
    assert not b.allow("p")
    clock.now += 0.1
    assert b.state("p") == "half_open"
    assert b.allow("p")  # the probe
    assert not b.allow("p")
    assert not b.allow("p")


def test_probe_success_closes() -> None:
    b, clock = make(failures=2, cooldown=10)
    b.failure("p")
    b.failure("p")
    clock.now += 10
    assert b.allow("p")
    b.success("p")
    assert b.state("p") == "closed"
    assert all(b.allow("p") for _ in range(5))
    b.failure("p")  # a fresh streak: one failure is not enough again
    assert b.allow("p")


def test_probe_failure_reopens_for_a_full_cooldown() -> None:
    b, clock = make(failures=1, cooldown=10)
    b.failure("p")
    clock.now += 10
    assert b.allow("p")
    clock.now += 3
    b.failure("p")
    assert b.state("p") == "open"
    clock.now += 9.9
    assert not b.allow("p")
    clock.now += 0.1
    assert b.allow("p")


def test_late_failures_of_calls_let_through_before_opening_do_not_extend_it() -> None:
    b, clock = make(failures=1, cooldown=10)
    b.failure("p")
    clock.now += 5
    b.failure("p")  # a call that left before the breaker opened
    clock.now += 5
    assert b.allow("p")


def test_release_frees_the_probe_slot() -> None:
    b, clock = make(failures=1, cooldown=10)
    b.failure("p")
    clock.now += 10
    assert b.allow("p")
    assert not b.allow("p")
    b.release("p")
    assert b.allow("p")
    assert b.state("p") == "half_open"


def test_a_lost_probe_is_replaced_after_another_cooldown() -> None:
    b, clock = make(failures=1, cooldown=10)
    b.failure("p")
    clock.now += 10
    assert b.allow("p")
    clock.now += 9
    assert not b.allow("p")
    clock.now += 1
    assert b.allow("p")
