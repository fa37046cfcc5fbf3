"""LlmRequest -> the gateway's OpenAI body and caller; outcomes and errors -> LlmResponse."""

from __future__ import annotations

from uuid import uuid4

from agentsuite_contracts.common import Money
from agentsuite_contracts.envelope import Actor, Envelope, Subject
from agentsuite_contracts.llm import (
    BudgetHint,
    ChatMessage,
    LlmErrorCode,
    LlmRequest,
    PromptRef,
    ResponseFormat,
    Role,
    Routing,
    ToolCall,
    ToolDefinition,
)
from agentsuite_contracts.topic_names import (
    IDENTITY_TENANTS_V1,
    LLM_REQUESTS_V1,
    LLM_RESPONSES_V1,
    LLM_USAGE_V1,
    reply_topic,
)
from agentsuite_llm_gateway.domain.costs import Tokens
from agentsuite_llm_gateway.domain.errors import Code, GatewayError
from agentsuite_llm_gateway.gateway import Outcome
from agentsuite_llm_gateway.handlers.request_mapping import (
    caller_of,
    chat_body,
    failure_response,
    ok_response,
)
from agentsuite_llm_gateway.handlers.requests import reply_topic_allowed


def request(**kw: object) -> LlmRequest:
    values: dict[str, object] = {
        "requester": "discovery",
        "messages": [ChatMessage(role=Role.USER, content="hi")],
    }
    values.update(kw)
    return LlmRequest.model_validate(values)


def test_model_or_tier_alias() -> None:
    assert chat_body(request(model="gpt-4o"))["model"] == "gpt-4o"
    assert chat_body(request())["model"] == "default"
    assert chat_body(request(routing=Routing(tier="fast")))["model"] == "fast"
    assert chat_body(request(routing=Routing(tier="best")))["model"] == "smart"
    assert chat_body(request(routing=Routing(tier="balanced")))["model"] == "default"


def test_full_body() -> None:
    body = chat_body(
        request(
            model="m",
            messages=[
                ChatMessage(role=Role.SYSTEM, content="be brief"),
                ChatMessage(
                    role=Role.ASSISTANT,
                    tool_calls=[ToolCall(id="c1", name="lookup", arguments='{"q":"x"}')],
                ),
                ChatMessage(role=Role.TOOL, content="42", tool_call_id="c1"),
            ],
            tools=[ToolDefinition(name="lookup", parameters={"type": "object"})],
            tool_choice="lookup",
            temperature=0.5,
            max_tokens=100,
            response_format=ResponseFormat(
                kind="json_schema", name="answer", json_schema={"type": "object"}
            ),
            prompt=PromptRef(name="greet", label="production", variables={"who": "ann"}),
        )
    )
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "lookup", "arguments": '{"q":"x"}'},
                }
            ],
        },
        {"role": "tool", "content": "42", "tool_call_id": "c1"},
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {"name": "lookup", "description": "", "parameters": {"type": "object"}},
        }
    ]
    assert body["tool_choice"] == {"type": "function", "function": {"name": "lookup"}}
    assert body["temperature"] == 0.5
    assert body["max_tokens"] == 100
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": {"type": "object"}},
    }
    assert body["prompt"] == {"name": "greet", "label": "production", "variables": {"who": "ann"}}
    assert chat_body(request(tool_choice="auto"))["tool_choice"] == "auto"
    assert "temperature" not in chat_body(request())


def test_caller_from_envelope() -> None:
    tenant, user = uuid4(), uuid4()
    req = request(labels={"execution_id": "run-7"})
    env = Envelope[LlmRequest](
        producer="discovery",
        tenant_id=tenant,
        actor=Actor(kind="user", id=str(user)),
        subject=Subject(type="request", id=str(req.request_id)),
        correlation_id=uuid4(),
        payload=req,
    )
    caller = caller_of(tenant, env)
    assert (caller.tenant_id, caller.user_id, caller.source, caller.requester, caller.run_id) == (
        tenant,
        user,
        "kafka",
        "discovery",
        "run-7",
    )
    service = env.model_copy(update={"actor": Actor(kind="service", id="discovery")})
    assert caller_of(tenant, service).user_id is None
    assert (
        caller_of(tenant, env.model_copy(update={"payload": request(run_id="r1")})).run_id == "r1"
    )


def test_ok_response_carries_usage_and_tool_calls() -> None:
    req = request(run_id="r1", budget=BudgetHint(max_cost=Money(amount_micros=5)))
    outcome = Outcome(
        body={
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "t",
                                "type": "function",
                                "function": {"name": "f", "arguments": "{}"},
                            }
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ]
        },
        model="gpt-4o",
        provider="openai",
        tokens=Tokens(prompt=10, completion=5, cached=4, reasoning=2),
        cost_micros=123,
        currency="USD",
        latency_ms=9,
        cached=True,
    )
    out = ok_response(req, outcome, 12)
    assert out.status == "ok"
    assert out.cached
    assert out.run_id == "r1"
    assert out.message is not None
    assert out.message.tool_calls[0].name == "f"
    assert out.finish_reason == "tool_calls"
    assert out.usage is not None
    assert (out.usage.prompt_tokens, out.usage.completion_tokens, out.usage.total_tokens) == (
        10,
        5,
        15,
    )
    assert (out.usage.cached_tokens, out.usage.reasoning_tokens) == (4, 2)
    assert out.usage.cost == Money(amount_micros=123)
    assert (out.model, out.provider, out.latency_ms) == ("gpt-4o", "openai", 12)


def test_gateway_errors_map_to_llm_error_codes() -> None:
    req = request()
    cases = {
        Code.NO_ROUTE: LlmErrorCode.NO_ROUTE,
        Code.COST_CAP: LlmErrorCode.BUDGET_EXCEEDED,
        Code.BUDGET_EXCEEDED: LlmErrorCode.BUDGET_EXCEEDED,
        Code.RATE_LIMITED: LlmErrorCode.RATE_LIMITED,
        Code.PROVIDER_ERROR: LlmErrorCode.PROVIDER_ERROR,
        Code.TIMEOUT: LlmErrorCode.TIMEOUT,
        Code.MODEL_NOT_FOUND: LlmErrorCode.INVALID_REQUEST,
        Code.PROMPT_NOT_FOUND: LlmErrorCode.INVALID_REQUEST,
    }
    for code, expected in cases.items():
        out = failure_response(
            req, GatewayError(code, "no", retryable=True, provider_status=503), 3
        )
        assert out.status == "error"
        assert out.error is not None
        assert (out.error.code, out.error.retryable, out.error.provider_status) == (
            expected,
            True,
            503,
        )


def test_reply_topics() -> None:
    assert reply_topic_allowed(LLM_RESPONSES_V1, "discovery") is True
    # a requester's own registered reply topic, and no other requester's
    assert reply_topic_allowed(reply_topic("discovery"), "discovery") is True
    assert reply_topic_allowed(reply_topic("execution"), "discovery") is False
    assert reply_topic_allowed(reply_topic("execution"), "tests") is False
    # another contract's topic, the command topic itself, internal and retry topics: never
    for refused in (IDENTITY_TENANTS_V1, LLM_REQUESTS_V1, LLM_USAGE_V1, "__consumer_offsets"):
        assert reply_topic_allowed(refused, "discovery") is False
    assert reply_topic_allowed("discovery.requests.dlq", "discovery") is False
    assert reply_topic_allowed("discovery.x.retry.1", "discovery") is False
    assert reply_topic_allowed("bad topic!", "discovery") is False
    # a topic outside the registry, even one the broker knows: never
    assert reply_topic_allowed("discovery.llm-replies", "discovery") is False
