"""Why the gateway refuses or fails a request: one error type, mapped to the OpenAI error
shape (and problem+json) on HTTP and to `LlmError` on Kafka."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


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


# HTTP status and OpenAI `error.type` of each code
_HTTP: dict[Code, tuple[int, str]] = {
    Code.INVALID_REQUEST: (400, "invalid_request_error"),
    Code.MODEL_NOT_FOUND: (404, "invalid_request_error"),
    Code.NO_ROUTE: (400, "invalid_request_error"),
    Code.CONTEXT_TOO_LONG: (400, "invalid_request_error"),
    Code.BUDGET_EXCEEDED: (402, "insufficient_quota"),
    Code.COST_CAP: (402, "insufficient_quota"),
    Code.RATE_LIMITED: (429, "rate_limit_error"),
    Code.PROVIDER_ERROR: (502, "api_error"),
    Code.TIMEOUT: (504, "timeout_error"),
    Code.PROMPT_NOT_FOUND: (404, "invalid_request_error"),
    Code.INVALID_VARIABLES: (400, "invalid_request_error"),
    Code.NOT_FOUND: (404, "invalid_request_error"),
    Code.CONFLICT: (409, "invalid_request_error"),
}


class GatewayError(Exception):
    """A refusal or failure with a code, a message a client can act on, and the field."""

    def __init__(
        self,
        code: Code,
        message: str,
        *,
        param: str | None = None,
        retryable: bool = False,
        status: int | None = None,
        provider_status: int | None = None,
        extensions: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.retryable = retryable
        self.status = status if status is not None else _HTTP[code][0]
        self.provider_status = provider_status
        # members the problem document adds, e.g. a refusing budget's figures (`budget`)
        self.extensions = extensions or {}
        self.traced = False  # set once the refusal has its trace: no entrypoint traces it twice

    @property
    def openai_type(self) -> str:
        return _HTTP[self.code][1]
