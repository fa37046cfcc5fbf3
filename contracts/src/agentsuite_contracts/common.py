"""Small value types shared by the payloads of several services."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import Field

from agentsuite_contracts.envelope import Contract
from agentsuite_contracts.marks import Sensitive

JsonObject = dict[str, Any]
"""A JSON object (tool inputs, schemas, free-form configuration)."""

MICROS = 1_000_000
"""Micro-units per currency unit."""


class Money(Contract):
    """An amount of money in integer micro-units (1/1,000,000) of an ISO 4217 currency.

    Integers, not floats: sums of costs stay exact, and a micro-dollar is fine enough
    for the price of a single token. Amounts are never negative (costs, limits, prices).
    """

    amount_micros: int = Field(
        ge=0, description="Amount in millionths of the currency unit: 1.25 USD is 1250000."
    )
    currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code, upper case."
    )

    @classmethod
    def of(cls, amount: Decimal | int | str, currency: str = "USD") -> Money:
        """`Money.of("1.25")`: from a decimal amount in currency units, exact to the micro."""
        micros = Decimal(amount) * MICROS
        if micros != micros.to_integral_value():
            raise ValueError(f"amount: {amount} has more than 6 decimal places")
        return cls(amount_micros=int(micros), currency=currency)

    @property
    def amount(self) -> Decimal:
        """The amount in currency units, exactly."""
        return Decimal(self.amount_micros) / MICROS

    def __add__(self, other: Money) -> Money:
        if other.currency != self.currency:
            raise ValueError(f"currency: cannot add {other.currency} to {self.currency}")
        return Money(amount_micros=self.amount_micros + other.amount_micros, currency=self.currency)


class ErrorInfo(Contract):
    """Why something failed, in a form a projection or a human can act on."""

    code: str = Field(description="Stable machine code, e.g. `timeout` or `tool_error`.")
    # an error text may quote the input that caused it
    message: Sensitive[str] = Field(description="Human-readable explanation.")
    retryable: bool = Field(default=False, description="Whether trying again may succeed.")
    details: Sensitive[JsonObject | None] = Field(
        default=None, description="Structured extra context (never secrets)."
    )


class Usage(Contract):
    """Tokens and money spent by one or more LLM calls."""

    prompt_tokens: int = Field(ge=0, description="Input tokens.")
    completion_tokens: int = Field(ge=0, description="Output tokens.")
    total_tokens: int = Field(ge=0, description="Input plus output tokens.")
    cost: Money = Field(description="Cost at the model's list price.")
    cached_tokens: int | None = Field(
        default=None, ge=0, description="Of `prompt_tokens`, served from the provider's cache."
    )
    reasoning_tokens: int | None = Field(
        default=None, ge=0, description="Of `completion_tokens`, spent on reasoning."
    )
