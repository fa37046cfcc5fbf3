"""What a call costs at its price list: cached input and reasoning output each billed at
their own price (defaulting to input and output), never twice, rounded up once; the price
in force at the call's time; and money rendered as plain decimal strings."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from agentsuite_llm_gateway.domain.catalog import Model, Price, Provider, ProviderKind
from agentsuite_llm_gateway.domain.costs import Tokens, cost_micros, estimate_micros, units

JAN = datetime(2026, 1, 1, tzinfo=UTC)
# micro-units per million tokens: 2.00 input, 0.50 cached input, 8.00 output, 10.00 reasoning
FULL = Price(JAN, input=2_000_000, output=8_000_000, cached_input=500_000, reasoning=10_000_000)


def test_each_part_is_billed_at_its_own_price_and_never_twice() -> None:
    tokens = Tokens(prompt=1000, completion=500, cached=400, reasoning=200)
    # 600 input x 2 + 400 cached x 0.5 + 300 output x 8 + 200 reasoning x 10 (per million)
    assert cost_micros(FULL, tokens) == 600 * 2 + 400 // 2 + 300 * 8 + 200 * 10


def test_without_a_cached_or_reasoning_price_they_bill_as_input_and_output() -> None:
    plain = Price(JAN, input=2_000_000, output=8_000_000)
    tokens = Tokens(prompt=1000, completion=500, cached=400, reasoning=200)
    assert cost_micros(plain, tokens) == 1000 * 2 + 500 * 8
    assert cost_micros(plain, tokens) == cost_micros(plain, Tokens(prompt=1000, completion=500))


def test_cached_and_reasoning_counts_above_their_totals_are_capped() -> None:
    # an upstream reporting more cached than prompt tokens cannot bill the cheap part twice
    assert cost_micros(FULL, Tokens(prompt=100, cached=1000)) == 100 // 2
    assert cost_micros(FULL, Tokens(completion=100, reasoning=1000)) == 100 * 10


def test_the_sum_is_rounded_up_once_in_micro_units() -> None:
    one_token = Price(JAN, input=1, output=1)  # a millionth of a micro-unit per token
    assert cost_micros(one_token, Tokens(prompt=1)) == 1
    assert cost_micros(one_token, Tokens(prompt=1_000_000)) == 1
    assert cost_micros(one_token, Tokens(prompt=1_000_001)) == 2
    assert cost_micros(None, Tokens(prompt=10**9)) == 0  # no price: a free (local) model


def test_the_estimate_bounds_every_real_cost_of_its_call() -> None:
    prompt, output = 1000, 500
    bound = estimate_micros(FULL, prompt, output)
    for cached in (0, 400, 1000):
        for reasoning in (0, 200, 500):
            real = Tokens(prompt=prompt, completion=output, cached=cached, reasoning=reasoning)
            assert cost_micros(FULL, real) <= bound


def test_the_price_in_force_is_the_newest_that_has_started() -> None:
    later = datetime(2026, 6, 1, tzinfo=UTC)
    cheaper = Price(later, input=1_000_000, output=4_000_000)
    provider = Provider(uuid.uuid4(), "p", ProviderKind.OPENAI, "https://p")
    model = Model(uuid.uuid4(), "m", provider, "m", 1000, prices=(FULL, cheaper))
    assert model.price_at(datetime(2025, 12, 31, tzinfo=UTC)) is None
    assert model.price_at(datetime(2026, 3, 1, tzinfo=UTC)) is FULL
    assert model.price_at(later) is cheaper


@pytest.mark.parametrize(
    ("micros", "shown"),
    [
        (0, "0"),
        (1, "0.000001"),
        (1_250_000, "1.25"),
        (1_000_000, "1"),
        (10_000_000, "10"),  # Decimal.normalize alone writes "1E+1"
        (120_000_000, "120"),
        (123_456_789, "123.456789"),
    ],
)
def test_money_is_a_plain_decimal_string(micros: int, shown: str) -> None:
    assert units(micros) == shown
