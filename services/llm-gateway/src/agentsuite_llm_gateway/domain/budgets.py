"""Budget arithmetic: UTC windows, what a settlement does to a budget's counters and which
thresholds it crosses, and the estimate the gateway reserves before a call.

The estimate is an upper bound, never a guess: `prompt_upper_bound` (the kit's, which
execution's run budgets reserve too) counts the tokens of a known model family with its
tokenizer and UTF-8 bytes for any other model, and the output
reservation is the `max_tokens` the gateway then SENDS upstream, so the provider cannot
produce more than was reserved. Reserved = worst case; settlement moves the real amount to
spent and frees the rest.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from agentsuite_kit.tokens import IMAGE_TOKENS, PER_MESSAGE, prompt_upper_bound
from agentsuite_llm_gateway.domain.catalog import Model
from agentsuite_llm_gateway.domain.costs import estimate_micros

__all__ = ["IMAGE_TOKENS", "PER_MESSAGE", "prompt_upper_bound"]

# the output reservation when neither the request nor the model names a cap
DEFAULT_OUTPUT = 4_096


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"
    TOTAL = "total"


class Crossing(StrEnum):
    WARNING = "warning"  # warn_percent of a limit reached, first time in the window
    EXCEEDED = "exceeded"  # a limit reached, first time in the window


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime | None  # None: a `total` budget never rolls


def window(period: Period | str, at: datetime, *, since: datetime | None = None) -> Window:
    """The UTC window of `period` that holds `at`; a `total` window starts `since` (its
    budget's creation) and never ends."""
    at = at.astimezone(UTC)
    match Period(period):
        case Period.DAY:
            start = at.replace(hour=0, minute=0, second=0, microsecond=0)
            return Window(start, start + timedelta(days=1))
        case Period.MONTH:
            start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
            nxt = (start + timedelta(days=32)).replace(day=1)
            return Window(start, nxt)
        case Period.TOTAL:
            return Window((since or at).astimezone(UTC), None)


def ended(period: Period | str, window_start: datetime, now: datetime) -> bool:
    """Whether the window that began at `window_start` is over at `now`."""
    end = window(period, window_start).end
    return end is not None and now >= end


@dataclass(frozen=True, slots=True)
class Limits:
    tokens: int | None
    micros: int | None
    warn_percent: int | None = None


@dataclass(frozen=True, slots=True)
class Counters:
    window_start: datetime
    spent_tokens: int = 0
    spent_micros: int = 0
    reserved_tokens: int = 0
    reserved_micros: int = 0
    warned: bool = False
    exceeded: bool = False

    def rolled(self, period: Period | str, now: datetime) -> Counters:
        """The counters in the window of `now`: spend and flags reset when the window
        ended; what is reserved stays, since those calls are still out."""
        if not ended(period, self.window_start, now):
            return self
        return replace(
            self,
            window_start=window(period, now).start,
            spent_tokens=0,
            spent_micros=0,
            warned=False,
            exceeded=False,
        )


def fits(limits: Limits, c: Counters, tokens: int, micros: int) -> bool:
    """Whether holding `tokens`/`micros` more keeps spent + reserved within every limit."""
    if limits.tokens is not None and c.spent_tokens + c.reserved_tokens + tokens > limits.tokens:
        return False
    return not (
        limits.micros is not None and c.spent_micros + c.reserved_micros + micros > limits.micros
    )


def remaining(limits: Limits, c: Counters) -> tuple[int | None, int | None]:
    """(tokens, micros) still free to reserve; None where there is no such limit."""

    def left(limit: int | None, spent: int, reserved: int) -> int | None:
        return None if limit is None else max(0, limit - spent - reserved)

    return (
        left(limits.tokens, c.spent_tokens, c.reserved_tokens),
        left(limits.micros, c.spent_micros, c.reserved_micros),
    )


def _reached(limit: int | None, spent: int, percent: int) -> bool:
    # integer arithmetic: spent/limit >= percent/100, without floats at the boundary
    return limit is not None and limit > 0 and spent * 100 >= limit * percent


def settle(
    period: Period | str,
    limits: Limits,
    c: Counters,
    *,
    held_tokens: int,
    held_micros: int,
    tokens: int,
    micros: int,
    now: datetime,
) -> tuple[Counters, list[Crossing]]:
    """Release what a reservation held and spend what the call really used; the crossings
    are the thresholds this spend reaches first in its window (each is reported once)."""
    c = c.rolled(period, now)
    after = replace(
        c,
        reserved_tokens=max(0, c.reserved_tokens - held_tokens),
        reserved_micros=max(0, c.reserved_micros - held_micros),
        spent_tokens=c.spent_tokens + tokens,
        spent_micros=c.spent_micros + micros,
    )
    crossings: list[Crossing] = []
    if limits.warn_percent is not None and not after.warned:
        p = limits.warn_percent
        if _reached(limits.tokens, after.spent_tokens, p) or _reached(
            limits.micros, after.spent_micros, p
        ):
            after = replace(after, warned=True)
            crossings.append(Crossing.WARNING)
    if not after.exceeded and (
        _reached(limits.tokens, after.spent_tokens, 100)
        or _reached(limits.micros, after.spent_micros, 100)
    ):
        after = replace(after, exceeded=True)
        crossings.append(Crossing.EXCEEDED)
    return after, crossings


def output_reservation(max_tokens: int | None, model_max_output: int | None) -> int:
    """Tokens to reserve for the answer: the request's `max_tokens`, else the model's
    `max_output`, else `DEFAULT_OUTPUT`, never above the model's cap. The gateway must send
    this value upstream as `max_tokens`: that is what makes the reservation a true bound."""
    if max_tokens is not None and max_tokens > 0:
        return min(max_tokens, model_max_output) if model_max_output else max_tokens
    return model_max_output or DEFAULT_OUTPUT


@dataclass(frozen=True, slots=True)
class Estimate:
    """What the gateway reserves for one call to one model, and the `max_tokens` it must
    send with it."""

    prompt: int
    output: int  # send this upstream as max_tokens
    micros: int

    @property
    def tokens(self) -> int:
        return self.prompt + self.output


def estimate(
    model: Model,
    messages: Sequence[Mapping[str, Any]],
    tools: Sequence[Mapping[str, Any]] | None,
    max_tokens: int | None,
    when: datetime,
) -> Estimate:
    """The reservation for calling `model` at `when` (its price then, no cache discount)."""
    prompt = prompt_upper_bound(messages, tools, model.upstream)
    output = output_reservation(max_tokens, model.max_output)
    return Estimate(prompt, output, estimate_micros(model.price_at(when), prompt, output))
