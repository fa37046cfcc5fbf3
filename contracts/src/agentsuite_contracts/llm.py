"""llm v1 payloads: the request/reply contract with llm-gateway, usage and admin events.

A requester publishes `LlmRequest` to `llm.requests.v1` keyed by `request_id`; the gateway
answers with exactly one `LlmResponse` (same `request_id`, same `requester`) on the topic
named by `reply_to`. The requester correlates by `request_id` and ignores other requesters'
responses; a response after `deadline` may be dropped.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.common import JsonObject, Money, Usage
from agentsuite_contracts.envelope import Command, Contract, Event
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.marks import Open, Personal, Sensitive
from agentsuite_contracts.topic_names import LLM_RESPONSES_V1

# the reply topic a request names unless its requester asks for its own
RESPONSES_TOPIC = LLM_RESPONSES_V1


class Role(StrEnum):
    """Author of a chat message."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class ToolCall(Contract):
    """A function call the model asked for."""

    id: str = Field(description="Call id, echoed by the `tool` message answering it.")
    name: str = Field(description="Tool (function) name.")
    arguments: Sensitive[str] = Field(description="Arguments as a JSON-encoded object, verbatim.")


class ChatMessage(Contract):
    """One chat message, in the OpenAI chat-completions shape."""

    role: Role = Field(description="Who wrote it.")
    content: Sensitive[str | None] = Field(
        default=None, description="Text; null for pure tool calls."
    )
    name: Personal[str | None] = Field(default=None, description="Optional author name.")
    tool_calls: list[ToolCall] = Field(
        default_factory=list, description="Calls requested by an assistant message."
    )
    tool_call_id: str | None = Field(
        default=None, description="For `tool` messages: the call answered."
    )


class ToolDefinition(Contract):
    """A function the model may call."""

    name: str = Field(description="Function name.")
    description: str = Field(default="", description="What it does, for the model.")
    parameters: JsonObject = Field(description="JSON Schema of its arguments.")


class ResponseFormat(Contract):
    """The shape the answer must take."""

    kind: Literal["text", "json_object", "json_schema"] = Field(description="Answer format.")
    name: str | None = Field(default=None, description="Schema name, for `json_schema`.")
    json_schema: JsonObject | None = Field(
        default=None, description="JSON Schema the answer must match, for `json_schema`."
    )


class Routing(Contract):
    """Hints for choosing a model when `model` is not set (or as fallbacks)."""

    tier: Literal["fast", "balanced", "best"] | None = Field(
        default=None, description="Quality/price tier wanted."
    )
    capabilities: list[str] = Field(
        default_factory=list, description="Needed capabilities, e.g. `tools`, `vision`."
    )
    providers: list[str] = Field(default_factory=list, description="Preferred providers, in order.")
    fallbacks: list[str] = Field(default_factory=list, description="Models to try on failure.")


class BudgetHint(Contract):
    """Spending limits the gateway enforces for this call."""

    max_cost: Money | None = Field(default=None, description="Most this call may cost.")
    scope: str | None = Field(
        default=None, description="Budget it counts against, e.g. `execution:<id>`."
    )


class PromptRef(Contract):
    """A stored prompt template to render instead of (or before) `messages`."""

    name: str = Field(description="Prompt name.")
    label: str | None = Field(
        default=None, description="Label to resolve, e.g. `production`; default `production`."
    )
    version: int | None = Field(default=None, ge=1, description="Exact version (wins over label).")
    variables: JsonObject = Field(
        default_factory=dict, description="Values of the template's variables."
    )


class FinishReason(StrEnum):
    """Why generation stopped."""

    STOP = "stop"
    LENGTH = "length"
    TOOL_CALLS = "tool_calls"
    CONTENT_FILTER = "content_filter"
    ERROR = "error"


class LlmErrorCode(StrEnum):
    """Why a request failed."""

    INVALID_REQUEST = "invalid_request"
    NO_ROUTE = "no_route"
    RATE_LIMITED = "rate_limited"
    BUDGET_EXCEEDED = "budget_exceeded"
    DEADLINE_EXCEEDED = "deadline_exceeded"
    PROVIDER_ERROR = "provider_error"
    TIMEOUT = "timeout"
    # the gateway serving the request died mid-call: retryable, and no fault of the request
    INTERRUPTED = "interrupted"


class LlmError(Contract):
    """Details of a failed request."""

    code: Open[LlmErrorCode] = Field(description="Category; new codes may appear.")
    # a provider's error text may quote the prompt
    message: Sensitive[str] = Field(description="Human-readable explanation.")
    retryable: bool = Field(description="Whether the same request may succeed later.")
    provider_status: int | None = Field(default=None, description="Provider HTTP status.")


class LlmRequest(Command):
    """Ask llm-gateway for a chat completion; the answer is an `LlmResponse`."""

    type: Literal["llm.completion.requested"] = Field(
        default="llm.completion.requested", description="Message type."
    )
    request_id: UUID = Field(
        default_factory=uuid7, description="Correlates the response; the topic key."
    )
    reply_to: str = Field(default=RESPONSES_TOPIC, description="Topic the response goes to.")
    requester: str = Field(description="Requesting service, e.g. `discovery`.")
    model: str | None = Field(default=None, description="Model id; null = route by hints.")
    routing: Routing | None = Field(default=None, description="Model-choice hints.")
    messages: Sensitive[list[ChatMessage]] = Field(
        min_length=1, description="The conversation so far."
    )
    tools: list[ToolDefinition] = Field(default_factory=list, description="Callable tools.")
    tool_choice: str | None = Field(
        default=None, description="`auto`, `none`, `required` or a tool name."
    )
    temperature: float | None = Field(default=None, ge=0, le=2, description="Sampling temp.")
    max_tokens: int | None = Field(default=None, gt=0, description="Output token cap.")
    response_format: ResponseFormat | None = Field(default=None, description="Answer shape.")
    budget: BudgetHint | None = Field(default=None, description="Spending limits.")
    deadline: datetime | None = Field(
        default=None, description="After this the requester no longer waits; skip if late."
    )
    cache: bool = Field(default=True, description="Whether a cached answer is acceptable.")
    labels: dict[str, str] = Field(
        default_factory=dict,
        description="Attribution for usage, e.g. `execution_id`, `step`, `session_id`.",
    )
    # the variables are the user's text, like the messages
    prompt: Sensitive[PromptRef | None] = Field(
        default=None,
        description="Stored prompt whose rendered messages go ahead of `messages` (v1 "
        "still needs one message: the turn the template answers).",
    )
    run_id: str | None = Field(
        default=None,
        description="Execution run the call belongs to: reported back, attributed in usage, "
        "and the scope of cached answers a resumed run replays.",
    )


class LlmResponse(Event):
    """The gateway's answer to one `LlmRequest`."""

    type: Literal["llm.completion.responded"] = Field(
        default="llm.completion.responded", description="Message type."
    )
    request_id: UUID = Field(description="The request answered; the topic key.")
    requester: str = Field(description="Requesting service, copied from the request.")
    status: Literal["ok", "error"] = Field(description="Outcome.")
    message: Sensitive[ChatMessage | None] = Field(default=None, description="The answer, when ok.")
    finish_reason: Open[FinishReason] | None = Field(
        default=None, description="Why it stopped; new reasons may appear."
    )
    usage: Usage | None = Field(default=None, description="Tokens and cost, when known.")
    model: str | None = Field(default=None, description="Model that answered.")
    provider: str | None = Field(default=None, description="Provider that answered.")
    latency_ms: int = Field(ge=0, description="Time from receipt to answer.")
    cached: bool = Field(default=False, description="Served from the response cache.")
    error: LlmError | None = Field(default=None, description="What failed, when error.")
    run_id: str | None = Field(default=None, description="Copied from the request.")


class UsageRecorded(Event):
    """One provider call was metered (successful or not)."""

    type: Literal["llm.usage.recorded"] = Field(
        default="llm.usage.recorded", description="Message type."
    )
    request_id: UUID = Field(description="The request (Kafka or HTTP) it served.")
    requester: str = Field(description="Service or `api` for the HTTP edge.")
    user_id: UUID | None = Field(default=None, description="User it is attributed to.")
    model: str = Field(description="Model called.")
    provider: str = Field(description="Provider called.")
    usage: Usage = Field(description="Tokens and cost.")
    latency_ms: int = Field(ge=0, description="Provider latency.")
    status: Literal["ok", "error"] = Field(description="Outcome of the call.")
    cached: bool = Field(default=False, description="Served from cache (cost 0).")
    labels: dict[str, str] = Field(default_factory=dict, description="Copied from the request.")
    run_id: str | None = Field(default=None, description="Execution run, when named.")
    api_key_id: UUID | None = Field(default=None, description="API key that called, if any.")
    prompt_id: UUID | None = Field(default=None, description="Stored prompt rendered, if any.")
    prompt_version: int | None = Field(default=None, description="Its version.")
    requested: str | None = Field(default=None, description="Model or alias asked for.")
    error_code: str | None = Field(default=None, description="Why it failed, when error.")


class LlmBudgetExceeded(Event):
    """A tenant's or user's LLM budget ran out for its period."""

    type: Literal["llm.budget.exceeded"] = Field(
        default="llm.budget.exceeded", description="Message type."
    )
    budget_id: UUID = Field(description="The budget.")
    scope: Literal["tenant", "user", "execution"] = Field(description="Who the budget is for.")
    scope_id: str = Field(description="Tenant, user or execution id.")
    period: Literal["day", "month", "total"] = Field(description="Budget period.")
    limit: Money = Field(description="Budget size.")
    spent: Money = Field(description="Spent in the period so far.")
    action: Literal["warned", "blocked"] = Field(description="What the gateway does now.")
    request_id: UUID | None = Field(default=None, description="Request that crossed the line.")
    subject_kind: str | None = Field(
        default=None,
        description="Exact subject: `tenant`, `org`, `api_key` or `user` (`scope` says "
        "`tenant` for org and API-key budgets, which v1 could not name).",
    )
    subject_id: str | None = Field(default=None, description="Id of that subject.")


class LlmBudgetWarning(Event):
    """A tenant's or user's LLM spending crossed its budget's warning threshold."""

    type: Literal["llm.budget.warning"] = Field(
        default="llm.budget.warning", description="Message type."
    )
    budget_id: UUID = Field(description="The budget.")
    scope: Literal["tenant", "user", "execution"] = Field(description="Who the budget is for.")
    scope_id: str = Field(description="Tenant, user or execution id.")
    period: Literal["day", "month", "total"] = Field(description="Budget period.")
    limit: Money = Field(description="Budget size.")
    spent: Money = Field(description="Spent in the period so far.")
    threshold_percent: int = Field(
        ge=1, le=100, description="The warning threshold crossed, in percent of the limit."
    )
    subject_kind: str | None = Field(
        default=None,
        description="Exact subject: `tenant`, `org`, `api_key` or `user` (`scope` says "
        "`tenant` for org and API-key budgets, which v1 could not name).",
    )
    subject_id: str | None = Field(default=None, description="Id of that subject.")


class ProviderRegistered(Event):
    """A model provider was configured. Credentials stay encrypted in the gateway."""

    type: Literal["llm.provider.registered"] = Field(
        default="llm.provider.registered", description="Message type."
    )
    provider_id: UUID = Field(description="The provider.")
    name: str = Field(description="Unique name, e.g. `openai`.")
    kind: str = Field(description="API flavour, e.g. `openai`, `anthropic`, `ollama`.")
    base_url: str | None = Field(default=None, description="Endpoint, when not the default.")
    enabled: bool = Field(default=True, description="Whether routing may use it.")


class ProviderUpdated(Event):
    """A provider's settings (or credentials, never shown) changed."""

    type: Literal["llm.provider.updated"] = Field(
        default="llm.provider.updated", description="Message type."
    )
    provider_id: UUID = Field(description="The provider.")
    name: str = Field(description="Unique name.")
    base_url: str | None = Field(default=None, description="Endpoint, when not the default.")
    enabled: bool = Field(description="Whether routing may use it.")
    credentials_rotated: bool = Field(default=False, description="True if the secret changed.")


class ProviderRemoved(Event):
    """A provider was removed with its models."""

    type: Literal["llm.provider.removed"] = Field(
        default="llm.provider.removed", description="Message type."
    )
    provider_id: UUID = Field(description="The provider.")
    name: str = Field(description="Its name.")


class ModelRegistered(Event):
    """A model became available for routing; re-sent on change."""

    type: Literal["llm.model.registered"] = Field(
        default="llm.model.registered", description="Message type."
    )
    provider_id: UUID = Field(description="Provider serving it.")
    model: str = Field(description="Model id as requested, e.g. `gpt-4o-mini`.")
    context_window: int = Field(gt=0, description="Max tokens of input plus output.")
    input_price: Money = Field(description="List price of one million input tokens.")
    output_price: Money = Field(description="List price of one million output tokens.")
    capabilities: list[str] = Field(default_factory=list, description="E.g. `tools`, `vision`.")
    tier: Literal["fast", "balanced", "best"] = Field(description="Routing tier.")


class ModelRetired(Event):
    """A model is no longer routed to."""

    type: Literal["llm.model.retired"] = Field(
        default="llm.model.retired", description="Message type."
    )
    provider_id: UUID = Field(description="Provider that served it.")
    model: str = Field(description="Model id.")
