"""Errors on the OpenAI routes: OpenAI's `error` object, inside a problem document.

The official clients read `error.message`, `error.type` and `error.code` from any JSON
error body; problem+json readers read `type`, `title`, `status` and `detail`. One body
carries both, so neither kind of client needs to know the other exists. Auth failures raised
by the kit as ProblemError get the same `error` member on these routes (`on_problem`).
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import Request, Response

from agentsuite_kit.errors import DomainError
from agentsuite_kit.http.contention import contention_error
from agentsuite_kit.http.problems import (
    MEDIA_TYPE,
    ProblemError,
    domain_problem,
    internal_error_response,
    problem_response,
)
from agentsuite_kit.messaging.errors import is_contention
from agentsuite_llm_gateway.domain.errors import Code, GatewayError

log = logging.getLogger(__name__)

OPENAI_PATHS = frozenset({"/v1/chat/completions", "/v1/embeddings", "/v1/models"})

# HTTP status and OpenAI `error.type` of each code on the OpenAI routes: OpenAI's own
# statuses (400 for a request it will not serve), not the kit's by kind
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


class EdgeError(GatewayError):
    """A refusal of the edge itself with a status of its own (a body over the limit is a
    413, a fault nobody foresaw a 500), in the same OpenAI shape."""

    def __init__(self, status: int, code: Code, message: str) -> None:
        super().__init__(code, message)
        self.status = status


def status_of(exc: GatewayError) -> int:
    """The status an OpenAI route answers `exc` with."""
    if isinstance(exc, EdgeError):
        return exc.status
    provider = exc.provider_status
    if exc.code is Code.INVALID_REQUEST and provider is not None and 400 <= provider < 500:
        return provider  # the provider refused the request: its own 4xx passes on
    return _HTTP[exc.code][0]


# the OpenAI error.type of each HTTP status the kit raises on those routes
_KIT_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "invalid_request_error",
    413: "invalid_request_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
    503: "api_error",
}

_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "message": {"type": "string"},
                "type": {"type": "string"},
                "param": {"type": ["string", "null"]},
                "code": {"type": ["string", "null"]},
            },
        },
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
    },
}
OPENAI_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": "OpenAI error object (also a problem document)",
        "content": {MEDIA_TYPE: {"schema": _ERROR_SCHEMA}},
    }
    for status in (400, 401, 402, 403, 404, 413, 429, 502, 504)
}


def openai_error(exc: GatewayError) -> Response:
    status = status_of(exc)
    body = {
        "error": {
            "message": exc.message,
            "type": _HTTP[exc.code][1],
            "param": exc.param,
            "code": exc.code.value,
        },
        "type": "about:blank",
        "title": exc.code.value.replace("_", " "),
        "status": status,
        "detail": exc.message,
        "code": exc.code.value,
        "retryable": exc.retryable,
        **exc.extensions,
    }
    headers = {"retry-after": "1"} if status == 429 else None
    return Response(orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=headers)


async def on_problem(request: Request, exc: Exception) -> Response:
    """The kit's problems, with the OpenAI `error` member on the OpenAI routes."""
    assert isinstance(exc, ProblemError)
    if request.url.path not in OPENAI_PATHS:
        return problem_response(exc.problem, exc.headers)
    problem = exc.problem
    status = problem.status or 500
    body = problem.model_dump(mode="json", exclude_none=True)
    body["error"] = {
        "message": problem.detail or problem.title,
        "type": _KIT_TYPES.get(status, "api_error"),
        "param": None,
        "code": body.get("code"),
    }
    return Response(
        orjson.dumps(body), status_code=status, media_type=MEDIA_TYPE, headers=exc.headers
    )


async def on_unhandled(request: Request, exc: Exception) -> Response:
    """A fault nobody foresaw: the kit's 500, with the `error` member on the OpenAI routes;
    a transaction aborted because it met another (deadlock, serialization) is a 503 the
    client may send again."""
    if is_contention(exc):
        log.warning("transaction aborted by contention: %s", exc)
        return await on_problem(request, contention_error())
    if request.url.path not in OPENAI_PATHS:
        return internal_error_response_logged(exc)
    log.exception("unhandled error", exc_info=exc)
    return openai_error(EdgeError(500, Code.PROVIDER_ERROR, "An unexpected error occurred."))


def internal_error_response_logged(exc: Exception) -> Response:
    log.exception("unhandled error", exc_info=exc)
    return internal_error_response()


async def on_domain(request: Request, exc: Exception) -> Response:
    """A refusal a route let go: OpenAI's error on the OpenAI routes, elsewhere the kit's
    problem+json (the status of its kind, its code and field)."""
    assert isinstance(exc, DomainError)
    if isinstance(exc, GatewayError) and request.url.path in OPENAI_PATHS:
        return openai_error(exc)
    problem = domain_problem(exc)
    return problem_response(problem.problem, problem.headers)
