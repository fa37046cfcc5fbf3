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
    ResponseFormat,
    Role,
    ToolCall,
)
from agentsuite_llm_gateway.domain.caller import Caller
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.gateway import Outcome

Json = dict[str, Any]

# a request without a model routes by its tier through these aliases
TIER_ALIASES = {"fast": "fast", "best": "smart"}
DEFAULT_ALIAS = "default"
_TOOL_CHOICES = frozenset({"auto", "none", "required"})

_CODES: dict[Code, LlmErrorCode] = {
    Code.NO_ROUTE: LlmErrorCode.NO_ROUTE,
    Code.BUDGET_EXCEEDED: LlmErrorCode.BUDGET_EXCEEDED,
    Code.COST_CAP: LlmErrorCode.BUDGET_EXCEEDED,
    Code.RATE_LIMITED: LlmErrorCode.RATE_LIMITED,
    Code.PROVIDER_ERROR: LlmErrorCode.PROVIDER_ERROR,
    Code.TIMEOUT: LlmErrorCode.TIMEOUT,
}  # every other code is the request's own fault: invalid_request


def _message(m: ChatMessage) -> Json:
    out: Json = {"role": m.role.value, "content": m.content}
    if m.name is not None:
        out["name"] = m.name
    if m.tool_calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in m.tool_calls
        ]
    if m.tool_call_id is not None:
        out["tool_call_id"] = m.tool_call_id
    return out


def _response_format(f: ResponseFormat) -> Json:
    if f.kind != "json_schema":
        return {"type": f.kind}
    return {
        "type": "json_schema",
        "json_schema": {"name": f.name or "response", "schema": f.json_schema or {}},
    }


def model_of(request: LlmRequest) -> str:
    """The model asked for, or the alias its routing tier names."""
    if request.model is not None:
        return request.model
    tier = request.routing.tier if request.routing is not None else None
    return TIER_ALIASES.get(tier or "", DEFAULT_ALIAS)


def chat_body(request: LlmRequest) -> Json:
    """The OpenAI chat-completions body of `request` (with the gateway's `prompt` member)."""
    body: Json = {"model": model_of(request), "messages": [_message(m) for m in request.messages]}
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": t.parameters,
                },
            }
            for t in request.tools
        ]
    if request.tool_choice is not None:
        choice = request.tool_choice
        body["tool_choice"] = (
            choice
            if choice in _TOOL_CHOICES
            else {"type": "function", "function": {"name": choice}}
        )
    if request.temperature is not None:
        body["temperature"] = request.temperature
    if request.max_tokens is not None:
        body["max_tokens"] = request.max_tokens
    if request.response_format is not None:
        body["response_format"] = _response_format(request.response_format)
    if request.prompt is not None:
        p = request.prompt
        ref: Json = {"name": p.name, "variables": dict(p.variables)}
        if p.label is not None:
            ref["label"] = p.label
        if p.version is not None:
            ref["version"] = p.version
        body["prompt"] = ref
    return body


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
