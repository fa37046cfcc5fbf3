"""Budget arithmetic: UTC windows, fits, settlement and its crossings, the estimate."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from agentsuite_llm_gateway.domain.budgets import (
    DEFAULT_OUTPUT,
    IMAGE_TOKENS,
    PER_MESSAGE,
    Counters,
    Crossing,
    Estimate,
    Limits,
    Period,
    ended,
    estimate,
    fits,
    output_reservation,
    prompt_upper_bound,
    remaining,
    settle,
    window,
)

T = datetime(2026, 3, 15, 13, 45, 7, tzinfo=UTC)


def test_day_and_month_windows_are_utc() -> None:
    day = window(Period.DAY, T)
    assert (day.start, day.end) == (
        datetime(2026, 3, 15, tzinfo=UTC),
        datetime(2026, 3, 16, tzinfo=UTC),
    )
    month = window(Period.MONTH, T)
    assert (month.start, month.end) == (
        datetime(2026, 3, 1, tzinfo=UTC),
        datetime(2026, 4, 1, tzinfo=UTC),
    )
    # 00:30 in UTC+2 is still the previous UTC day
    local = datetime(2026, 3, 16, 0, 30, tzinfo=timezone(timedelta(hours=2)))
    assert window(Period.DAY, local).start == datetime(2026, 3, 15, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "start", "end"),
    [
        (
            datetime(2026, 12, 31, 23, 59, tzinfo=UTC),
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        ),
        (
            datetime(2028, 2, 29, tzinfo=UTC),
            datetime(2028, 2, 1, tzinfo=UTC),
            datetime(2028, 3, 1, tzinfo=UTC),
        ),
        (
            datetime(2026, 1, 31, 12, tzinfo=UTC),
            datetime(2026, 1, 1, tzinfo=UTC),
            datetime(2026, 2, 1, tzinfo=UTC),
        ),
    ],
)
def test_month_edges(at: datetime, start: datetime, end: datetime) -> None:
    w = window(Period.MONTH, at)
    assert (w.start, w.end) == (start, end)


def test_total_never_ends() -> None:
    since = T - timedelta(days=400)
    w = window(Period.TOTAL, T, since=since)
    assert (w.start, w.end) == (since, None)
    assert not ended(Period.TOTAL, since, T + timedelta(days=10_000))


def test_ended_at_the_boundary() -> None:
    start = window(Period.DAY, T).start
    assert not ended(Period.DAY, start, start + timedelta(days=1) - timedelta(microseconds=1))
    assert ended(Period.DAY, start, start + timedelta(days=1))


def test_rolling_resets_spend_and_flags_but_keeps_reservations() -> None:
    c = Counters(window(Period.DAY, T).start, 5, 50, 7, 70, warned=True, exceeded=True)
    assert c.rolled(Period.DAY, T + timedelta(hours=1)) is c
    rolled = c.rolled(Period.DAY, T + timedelta(days=3))
    assert rolled == Counters(window(Period.DAY, T + timedelta(days=3)).start, 0, 0, 7, 70)


def test_fits_counts_spent_and_reserved_against_each_limit() -> None:
    c = Counters(T, spent_tokens=40, spent_micros=400, reserved_tokens=50, reserved_micros=500)
    assert fits(Limits(100, 1000), c, 10, 100)
    assert not fits(Limits(100, 1000), c, 11, 100)
    assert not fits(Limits(100, 1000), c, 10, 101)
    assert fits(Limits(None, 1000), c, 10_000, 100)
    assert fits(Limits(100, None), c, 10, 10**12)
    assert remaining(Limits(100, None), c) == (10, None)
    assert remaining(Limits(10, 10), c) == (0, 0)


def _settle(
    limits: Limits, c: Counters, tokens: int, micros: int, held: tuple[int, int] = (0, 0)
) -> tuple[Counters, list[Crossing]]:
    return settle(
        Period.MONTH,
        limits,
        c,
        held_tokens=held[0],
        held_micros=held[1],
        tokens=tokens,
        micros=micros,
        now=T,
    )


def test_settle_moves_held_to_the_real_spend() -> None:
    start = window(Period.MONTH, T).start
    c = Counters(start, reserved_tokens=300, reserved_micros=3000)
    after, crossings = _settle(Limits(None, 10_000), c, 40, 700, held=(100, 1000))
    assert after == Counters(start, 40, 700, 200, 2000)
    assert crossings == []


def test_warning_then_exceeded_each_once() -> None:
    limits = Limits(None, 1000, warn_percent=80)
    c = Counters(window(Period.MONTH, T).start)
    c, x = _settle(limits, c, 0, 799)
    assert x == []
    c, x = _settle(limits, c, 0, 1)  # 800 = 80% exactly: integer comparison, no float
    assert x == [Crossing.WARNING]
    c, x = _settle(limits, c, 0, 100)
    assert x == []
    c, x = _settle(limits, c, 0, 100)  # 1000: the limit itself
    assert x == [Crossing.EXCEEDED]
    c, x = _settle(limits, c, 0, 100)
    assert x == []
    assert c.warned
    assert c.exceeded


def test_one_settlement_may_cross_both() -> None:
    _, x = _settle(
        Limits(100, None, warn_percent=50), Counters(window(Period.MONTH, T).start), 100, 0
    )
    assert x == [Crossing.WARNING, Crossing.EXCEEDED]


def test_a_new_window_rearms_the_crossings() -> None:
    old = Counters(
        window(Period.MONTH, T).start - timedelta(days=40), 0, 1000, warned=True, exceeded=True
    )
    after, x = _settle(Limits(None, 1000, warn_percent=50), old, 0, 600)
    assert x == [Crossing.WARNING]
    assert after.spent_micros == 600


def test_either_limit_crosses() -> None:
    _, x = _settle(Limits(100, 10**9), Counters(window(Period.MONTH, T).start), 100, 1)
    assert x == [Crossing.EXCEEDED]


def test_release_never_goes_negative() -> None:
    after, _ = _settle(
        Limits(1, None),
        Counters(window(Period.MONTH, T).start, reserved_tokens=5),
        0,
        0,
        held=(9, 9),
    )
    assert (after.reserved_tokens, after.reserved_micros) == (0, 0)


def test_prompt_bound_counts_bytes_per_message_and_tools() -> None:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": "be brief"},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "héllo"},
                {
                    "type": "image_url",
                    "image_url": {"url": "data:image/png;base64," + "A" * 10_000},
                },
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": '{"x":1}'}}
            ],
        },
    ]
    tools = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]
    bound = prompt_upper_bound(messages, tools)
    assert bound >= 3 * PER_MESSAGE + len("be brief") + len("héllo".encode()) + IMAGE_TOKENS + len(
        '{"x":1}'
    )
    # the image is counted once at its bound, not by its base64 length
    assert bound < 10_000
    assert prompt_upper_bound(messages, tools) > prompt_upper_bound(messages)


def test_prompt_bound_is_never_below_a_real_tokenizer() -> None:
    # any BPE token covers at least one byte: the byte count bounds the token count,
    # including for scripts where a character is several bytes
    for text in ("the quick brown fox " * 50, "日本語のテキスト" * 30, "🙂" * 40):
        assert prompt_upper_bound([{"role": "user", "content": text}]) >= len(text.encode())


@pytest.mark.parametrize(
    ("max_tokens", "model_max", "expected"),
    [
        (256, None, 256),
        (256, 128, 128),
        (None, 1024, 1024),
        (None, None, DEFAULT_OUTPUT),
        (0, 77, 77),
    ],
)
def test_output_reservation(max_tokens: int | None, model_max: int | None, expected: int) -> None:
    assert output_reservation(max_tokens, model_max) == expected


def test_estimate_prices_the_bound_at_the_dearer_output_price() -> None:
    from agentsuite_llm_gateway.domain.catalog import Model, Price, Provider, ProviderKind

    provider = Provider(uuid.uuid4(), "p", ProviderKind.LOCAL, None)
    price = Price(T - timedelta(days=1), input=2_000_000, output=8_000_000, reasoning=10_000_000)
    model = Model(uuid.uuid4(), "m", provider, "m", 8192, max_output=1000, prices=(price,))
    e = estimate(model, [{"role": "user", "content": "x" * 92}], None, 500, T)
    prompt = 92 + PER_MESSAGE + len("role") + len("user") + len("content")
    assert (e.prompt, e.output, e.tokens) == (prompt, 500, prompt + 500)
    assert e.micros == prompt * 2 + 500 * 10
    free = Model(uuid.uuid4(), "f", provider, "f", 8192)
    assert estimate(free, [], None, None, T) == Estimate(0, DEFAULT_OUTPUT, 0)
