"""What a call costs at a model's list price: exact integer micro-units, rounded up.

OpenAI's usage counts cached tokens inside `prompt_tokens` and reasoning tokens inside
`completion_tokens`; each part is billed at its own price and never twice. The sum is
taken in micro-units per million tokens and rounded up once, so many small calls are never
billed below their price and no float ever touches money.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from agentsuite_llm_gateway.domain.catalog import Price

MILLION = 1_000_000


@dataclass(frozen=True, slots=True)
class Tokens:
    """A call's token counts, in OpenAI's accounting (the parts are inside the totals)."""

    prompt: int = 0
    completion: int = 0
    cached: int = 0  # of `prompt`, served from the provider's prompt cache
    reasoning: int = 0  # of `completion`, spent thinking

    @property
    def total(self) -> int:
        return self.prompt + self.completion

    def __add__(self, other: Tokens) -> Tokens:
        return Tokens(
            self.prompt + other.prompt,
            self.completion + other.completion,
            self.cached + other.cached,
            self.reasoning + other.reasoning,
        )


def cost_micros(price: Price | None, tokens: Tokens) -> int:
    """Cost of `tokens` at `price`, in micro-units of its currency (0 without a price)."""
    if price is None:
        return 0
    cached = min(tokens.cached, tokens.prompt)
    reasoning = min(tokens.reasoning, tokens.completion)
    cached_price = price.input if price.cached_input is None else price.cached_input
    reasoning_price = price.output if price.reasoning is None else price.reasoning
    scaled = (
        (tokens.prompt - cached) * price.input
        + cached * cached_price
        + (tokens.completion - reasoning) * price.output
        + reasoning * reasoning_price
    )
    return -(-scaled // MILLION)  # ceiling division


def estimate_micros(price: Price | None, prompt: int, max_output: int) -> int:
    """The most a call can cost before it is made: every input token at the input price
    (no cache discount is assumed) and the output cap at the dearer output price."""
    if price is None:
        return 0
    output_price = max(price.output, price.reasoning or 0)
    return -(-(prompt * price.input + max_output * output_price) // MILLION)


def units(micros: int) -> str:
    """Micro-units as a plain decimal string of currency units, no trailing zeros and never
    an exponent: 1250000 -> "1.25", 10000000 -> "10", 0 -> "0"."""
    return format(Decimal(micros).scaleb(-6).normalize(), "f")
