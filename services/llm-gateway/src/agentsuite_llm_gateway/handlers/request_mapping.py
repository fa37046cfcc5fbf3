"""`LlmRequest` <-> the gateway's OpenAI-shaped call: body, caller, and the `LlmResponse`."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

from agentsuite_contracts.common import Money, Usage
from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.llm import (
    ChatMessage,
    LlmError,
    LlmErrorCode,
    LlmRequest,
    LlmResponse,
    Role,
    ToolCall,
)
from agentsuite_kit.llm_body import DEFAULT_ALIAS, TIER_ALIASES, chat_body, model_of
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.gateway import Outcome

Json = dict[str, Any]

__all__ = ["DEFAULT_ALIAS", "TIER_ALIASES", "chat_body", "model_of"]

_CODES: dict[Code, LlmErrorCode] = {
    Code.NO_ROUTE: LlmErrorCode.NO_ROUTE,
    Code.BUDGET_EXCEEDED: LlmErrorCode.BUDGET_EXCEEDED,
    Code.COST_CAP: LlmErrorCode.BUDGET_EXCEEDED,
    Code.RATE_LIMITED: LlmErrorCode.RATE_LIMITED,
    Code.PROVIDER_ERROR: LlmErrorCode.PROVIDER_ERROR,
    Code.TIMEOUT: LlmErrorCode.TIMEOUT,
}  # every other code is the request's own fault: invalid_request

MAX_RUN_ID = 200


def run_of(request: LlmRequest) -> str | None:
    """The run a request belongs to, at most MAX_RUN_ID characters: a longer one (the
    contract sets no bound) keeps its head and a digest of the whole, so it stays distinct
    and its usage event stays small enough to be published."""
    run = request.run_id or request.labels.get("execution_id")
    if run is None or len(run) <= MAX_RUN_ID:
        return run
    digest = hashlib.sha256(run.encode()).hexdigest()
    return f"{run[: MAX_RUN_ID - 65]}~{digest}"


def caller_of(tenant: UUID, envelope: Envelope[Any]) -> Caller:
    request: LlmRequest = envelope.payload
    user_id: UUID | None = None
    actor = envelope.actor
    if actor is not None and actor.kind == "user":
        try:
            user_id = UUID(actor.id)
        except ValueError:
            user_id = None  # not a user id we can attribute to; the tenant pays
    return Caller(
        tenant_id=tenant,
        user_id=user_id,
        source="kafka",
        requester=request.requester,
        run_id=run_of(request),
    )


def _answer(choice: Json) -> ChatMessage:
    message = choice.get("message") or {}
    calls = [
        ToolCall(
            id=str(c.get("id", "")),
            name=str((c.get("function") or {}).get("name", "")),
            arguments=str((c.get("function") or {}).get("arguments", "")),
        )
        for c in message.get("tool_calls") or []
    ]
    content = message.get("content")
    return ChatMessage(
        role=Role.ASSISTANT,
        content=content if isinstance(content, str) or content is None else str(content),
        tool_calls=calls,
    )


def ok_response(request: LlmRequest, outcome: Outcome, latency_ms: int) -> LlmResponse:
    choices = outcome.body.get("choices") or [{}]
    t = outcome.tokens
    return LlmResponse(
        request_id=request.request_id,
        requester=request.requester,
        status="ok",
        message=_answer(choices[0]),
        finish_reason=choices[0].get("finish_reason") or "stop",
        usage=Usage(
            prompt_tokens=t.prompt,
            completion_tokens=t.completion,
            total_tokens=t.total,
            cost=Money(amount_micros=outcome.cost_micros, currency=outcome.currency),
            cached_tokens=t.cached,
            reasoning_tokens=t.reasoning,
        ),
        model=outcome.model,
        provider=outcome.provider,
        latency_ms=latency_ms,
        cached=outcome.cached,
        run_id=run_of(request),
    )


def error_response(
    request: LlmRequest,
    code: LlmErrorCode,
    message: str,
    latency_ms: int,
    retryable: bool = False,
    provider_status: int | None = None,
) -> LlmResponse:
    return LlmResponse(
        request_id=request.request_id,
        requester=request.requester,
        status="error",
        latency_ms=latency_ms,
        error=LlmError(
            code=code, message=message, retryable=retryable, provider_status=provider_status
        ),
        run_id=run_of(request),
    )


def failure_response(request: LlmRequest, exc: GatewayError, latency_ms: int) -> LlmResponse:
    return error_response(
        request,
        _CODES.get(exc.code, LlmErrorCode.INVALID_REQUEST),
        exc.message,
        latency_ms,
        exc.retryable,
        exc.provider_status,
    )
