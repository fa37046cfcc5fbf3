"""An `LlmRequest` as the OpenAI chat-completions body llm-gateway serves it: shared with
execution, whose run budget reserves the input bound of exactly this body
(`agentsuite_kit.tokens.chat_input_bound`)."""

from __future__ import annotations

from typing import Any

from agentsuite_contracts.llm import ChatMessage, LlmRequest, ResponseFormat

Json = dict[str, Any]

# a request without a model routes by its tier through these aliases
TIER_ALIASES = {"fast": "fast", "best": "smart"}
DEFAULT_ALIAS = "default"
_TOOL_CHOICES = frozenset({"auto", "none", "required"})


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
