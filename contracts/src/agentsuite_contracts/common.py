"""Small value types shared by the payloads of several services."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from agentsuite_contracts.envelope import Contract

JsonObject = dict[str, Any]
"""A JSON object (tool inputs, schemas, free-form configuration)."""


class ErrorInfo(Contract):
    """Why something failed, in a form a projection or a human can act on."""

    code: str = Field(description="Stable machine code, e.g. `timeout` or `tool_error`.")
    message: str = Field(description="Human-readable explanation.")
    retryable: bool = Field(default=False, description="Whether trying again may succeed.")
    details: JsonObject | None = Field(
        default=None, description="Structured extra context (never secrets)."
    )


class Usage(Contract):
    """Tokens and money spent by one or more LLM calls."""

    prompt_tokens: int = Field(ge=0, description="Input tokens.")
    completion_tokens: int = Field(ge=0, description="Output tokens.")
    total_tokens: int = Field(ge=0, description="Input plus output tokens.")
    cost_usd: float = Field(ge=0, description="Cost in US dollars at the model's list price.")
