"""Why the gateway refuses or fails a request: the kit's `DomainError`, with the gateway's
codes. Each code is a `Kind` of refusal; the edge (api/errors.py) answers with OpenAI's
error shape or problem+json and picks the HTTP status, and the Kafka path answers with an
`LlmError`."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from agentsuite_kit.errors import DomainError, Kind


class Code(StrEnum):
    """The OpenAI `error.code`s (and `LlmErrorCode`s) the gateway answers with."""

    INVALID_REQUEST = "invalid_request"
    MODEL_NOT_FOUND = "model_not_found"
    NO_ROUTE = "no_route"
    CONTEXT_TOO_LONG = "context_length_exceeded"
    BUDGET_EXCEEDED = "budget_exceeded"
    COST_CAP = "cost_cap_exceeded"
    RATE_LIMITED = "rate_limited"
    PROVIDER_ERROR = "provider_error"
    TIMEOUT = "timeout"
    PROMPT_NOT_FOUND = "prompt_not_found"
    INVALID_VARIABLES = "invalid_variables"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"


KINDS: dict[Code, Kind] = {
    Code.INVALID_REQUEST: Kind.INVALID,
    Code.MODEL_NOT_FOUND: Kind.NOT_FOUND,
    Code.NO_ROUTE: Kind.INVALID,
    Code.CONTEXT_TOO_LONG: Kind.INVALID,
    Code.BUDGET_EXCEEDED: Kind.EXHAUSTED,
    Code.COST_CAP: Kind.EXHAUSTED,
    Code.RATE_LIMITED: Kind.RATE_LIMITED,
    Code.PROVIDER_ERROR: Kind.UNAVAILABLE,
    Code.TIMEOUT: Kind.TIMED_OUT,
    Code.PROMPT_NOT_FOUND: Kind.NOT_FOUND,
    Code.INVALID_VARIABLES: Kind.INVALID,
    Code.NOT_FOUND: Kind.NOT_FOUND,
    Code.CONFLICT: Kind.CONFLICT,
}


class GatewayError(DomainError):
    """A refusal or failure with a code, a message a client can act on and the field at
    fault (`param`, OpenAI's word for it). `provider_status` is what the provider answered,
    if one did: the edge may pass a provider's own refusal on with it."""

    code: Code

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        param: str | None = None,
        retryable: bool = False,
        provider_status: int | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(code, message, field=param, extensions=extensions)
        # the kind follows from the code, not from a subclass: one type, many codes
        self.kind = KINDS[code]  # type: ignore[misc]  # a per-instance kind shadows the ClassVar
        self.retryable = retryable
        self.provider_status = provider_status
        self.traced = False  # set once the refusal has its trace: no entrypoint traces it twice

    @property
    def param(self) -> str | None:
        return self.field
