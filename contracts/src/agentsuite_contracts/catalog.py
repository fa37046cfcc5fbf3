"""catalog v1 payloads: tools and their versions, the task catalog, agents, templates."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal
from uuid import UUID

from pydantic import Field

from agentsuite_contracts.common import JsonObject, Money
from agentsuite_contracts.envelope import Contract, Event
from agentsuite_contracts.marks import Open, Sensitive


class CatalogStatus(StrEnum):
    """Lifecycle of a catalog entry."""

    DRAFT = "draft"
    PUBLISHED = "published"
    DEPRECATED = "deprecated"


class BindingKind(StrEnum):
    """How execution invokes a tool."""

    HTTP = "http"
    PYTHON = "python"
    MCP = "mcp"
    LLM = "llm"
    BUILTIN = "builtin"


class AuthScheme(StrEnum):
    """How a credential is presented to a tool's server."""

    BEARER = "bearer"
    BASIC = "basic"
    HEADER = "header"
    QUERY = "query"


class ToolAuth(Contract):
    """A credential a binding presents, by the name of a tenant secret: never its value."""

    scheme: Open[AuthScheme] = Field(description="How the credential is presented.")
    secret_name: str = Field(description="Name of the tenant secret holding the credential.")
    name: str | None = Field(
        default=None, description="Header or query parameter name (`header`, `query`)."
    )


class ToolBinding(Contract):
    """Where a tool's implementation lives. Credentials are referenced, never embedded."""

    kind: Open[BindingKind] = Field(description="Invocation mechanism; new ones may appear.")
    target: str = Field(description="URL, `module:function`, MCP server/tool name or builtin name.")
    config: JsonObject = Field(
        default_factory=dict,
        description="Non-secret settings; secrets by reference name only. `http`: `method`, "
        "`headers`, `success_statuses`, `params` ({input property: path, query or header}; "
        "given, the input's `body` is the JSON body). `mcp`: `tool`. `llm`: `prompt`, "
        "`model`, `label`.",
    )
    auth: ToolAuth | None = Field(
        default=None, description="The credential to present, by secret name (none: no auth)."
    )


class ToolCondition(Contract):
    """A rule evaluated on a tool's output that decides what runs next."""

    when: str = Field(description="Expression over the tool's output, e.g. `output.score < 0.5`.")
    action: Literal["continue", "skip_next", "fail", "route"] = Field(
        description="What to do when the expression holds."
    )
    target_tool: str | None = Field(default=None, description="Tool to route to (`route`).")


class SideEffect(StrEnum):
    """What calling a tool does to the world, which decides whether a retry is safe."""

    READ_ONLY = "read_only"
    IDEMPOTENT = "idempotent"
    NON_IDEMPOTENT = "non_idempotent"


class ToolRetry(Contract):
    """How a failed call of the tool may be retried (hints; the step's policy decides)."""

    max_attempts: int = Field(default=1, ge=1, le=20, description="Attempts in all, the first too.")
    backoff_ms: int = Field(default=1_000, ge=0, le=3_600_000, description="First delay.")
    max_backoff_ms: int = Field(
        default=60_000, ge=0, le=86_400_000, description="Longest delay between attempts."
    )


class ToolSpec(Contract):
    """One immutable version of a tool: its contract and how to call it."""

    name: str = Field(description="Unique tool name in the tenant, e.g. `web.search`.")
    version: str = Field(description="Semantic version, e.g. `1.2.0`.")
    display_name: str = Field(description="Name shown in UIs.")
    description: str = Field(description="What the tool does; also shown to LLMs.")
    category: str | None = Field(default=None, description="Grouping, e.g. `search`.")
    input_schema: JsonObject = Field(description="JSON Schema of the tool's input.")
    output_schema: JsonObject = Field(description="JSON Schema of the tool's output.")
    binding: ToolBinding = Field(description="How execution invokes it.")
    timeout_ms: int = Field(default=30_000, gt=0, description="Default per-call timeout.")
    requires_approval: bool = Field(
        default=False, description="A human must approve each call before it runs."
    )
    idempotent: bool = Field(default=False, description="Safe to retry with the same input.")
    conditions: list[ToolCondition] = Field(
        default_factory=list, description="Post-execution rules, in evaluation order."
    )
    tags: list[str] = Field(default_factory=list, description="Free-form search tags.")
    side_effect: Open[SideEffect] | None = Field(
        default=None, description="Read-only, idempotent or not (null: not stated)."
    )
    retry: ToolRetry | None = Field(default=None, description="Retry hints (null: none).")


class ToolRegistered(Event):
    """A tool was registered as a draft."""

    type: Literal["catalog.tool.registered"] = Field(
        default="catalog.tool.registered", description="Message type."
    )
    tool_id: UUID = Field(description="The tool.")
    spec: ToolSpec = Field(description="Its draft definition.")


class ToolUpdated(Event):
    """A tool's draft definition changed; carries the current draft."""

    type: Literal["catalog.tool.updated"] = Field(
        default="catalog.tool.updated", description="Message type."
    )
    tool_id: UUID = Field(description="The tool.")
    spec: ToolSpec = Field(description="Its current draft definition.")


class ToolVersionPublished(Event):
    """An immutable tool version was published; plans may pin it."""

    type: Literal["catalog.tool_version.published"] = Field(
        default="catalog.tool_version.published", description="Message type."
    )
    tool_id: UUID = Field(description="The tool.")
    tool_version_id: UUID = Field(description="The published version.")
    spec: ToolSpec = Field(description="The version's definition, frozen from now on.")


class ToolPublished(Event):
    """A tool became available for use, at its latest published version."""

    type: Literal["catalog.tool.published"] = Field(
        default="catalog.tool.published", description="Message type."
    )
    tool_id: UUID = Field(description="The tool.")
    name: str = Field(description="Tool name.")
    version: str = Field(description="Version new plans get by default.")
    tool_version_id: UUID | None = Field(default=None, description="That version's id.")
    spec: ToolSpec | None = Field(default=None, description="That version's frozen definition.")


class ToolDeprecated(Event):
    """A tool should no longer be used by new plans; running ones may finish."""

    type: Literal["catalog.tool.deprecated"] = Field(
        default="catalog.tool.deprecated", description="Message type."
    )
    tool_id: UUID = Field(description="The tool.")
    name: str = Field(description="Tool name.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")
    replacement: str | None = Field(default=None, description="Tool name to use instead.")
    sunset_at: datetime | None = Field(default=None, description="When calls will start failing.")
    tool_version_id: UUID | None = Field(
        default=None, description="The version whose deprecation left no published one."
    )
    spec: ToolSpec | None = Field(default=None, description="That version's frozen definition.")


class ToolVersionDeprecated(Event):
    """One published tool version should no longer be used by new plans; pinned runs may
    go on until `sunset_at`. The tool stays usable at its other published versions."""

    type: Literal["catalog.tool_version.deprecated"] = Field(
        default="catalog.tool_version.deprecated", description="Message type."
    )
    tool_id: UUID = Field(description="The tool.")
    tool_version_id: UUID = Field(description="The deprecated version.")
    spec: ToolSpec = Field(description="The version's frozen definition.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")
    replacement: str | None = Field(default=None, description="Version or tool to use instead.")
    sunset_at: datetime | None = Field(default=None, description="When calls will start failing.")


class TaskSpec(Contract):
    """A reusable unit of work in the task catalog, bound to default tools."""

    key: str = Field(description="Stable unique key, e.g. `research.competitors`.")
    name: str = Field(description="Display name.")
    description: str = Field(description="What the task achieves.")
    version: int = Field(ge=1, description="Revision number, bumped on every change.")
    groups: list[str] = Field(default_factory=list, description="Group keys it belongs to.")
    tools: list[str] = Field(default_factory=list, description="Default tool names it uses.")
    input_schema: JsonObject = Field(default_factory=dict, description="JSON Schema of inputs.")
    output_schema: JsonObject = Field(default_factory=dict, description="JSON Schema of outputs.")
    requires_approval: bool = Field(default=False, description="Needs a human sign-off.")
    metadata: JsonObject = Field(
        default_factory=dict,
        description="Free-form JSON object (owners, labels, SLAs), at most 8 levels and 16 KiB.",
    )


class TaskCreated(Event):
    """A task was added to the catalog."""

    type: Literal["catalog.task.created"] = Field(
        default="catalog.task.created", description="Message type."
    )
    task_id: UUID = Field(description="The task.")
    spec: TaskSpec = Field(description="Its definition.")
    status: CatalogStatus = Field(default=CatalogStatus.DRAFT, description="Lifecycle status.")


class TaskUpdated(Event):
    """A task changed; carries the new revision."""

    type: Literal["catalog.task.updated"] = Field(
        default="catalog.task.updated", description="Message type."
    )
    task_id: UUID = Field(description="The task.")
    spec: TaskSpec = Field(description="The new revision.")
    status: CatalogStatus = Field(description="Lifecycle status.")
    change_note: str | None = Field(default=None, description="Why it changed.")


class TaskDeprecated(Event):
    """A task should no longer be used."""

    type: Literal["catalog.task.deprecated"] = Field(
        default="catalog.task.deprecated", description="Message type."
    )
    task_id: UUID = Field(description="The task.")
    key: str = Field(description="Task key.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")
    spec: TaskSpec | None = Field(
        default=None,
        description="The revision the deprecation made, frozen (null: an older publisher).",
    )


class TaskGroupChanged(Event):
    """A task group was created, renamed, re-described or re-parented; carries it whole,
    so a projection keeps the group hierarchy (a DAG) without calling catalog."""

    type: Literal["catalog.task_group.changed"] = Field(
        default="catalog.task_group.changed", description="Message type."
    )
    group_id: UUID = Field(description="The group.")
    key: str = Field(description="Stable group key; never changes.")
    name: str = Field(description="Display name.")
    description: str = Field(default="", description="What the group holds.")
    parents: list[str] = Field(default_factory=list, description="Parent group keys.")
    metadata: JsonObject = Field(default_factory=dict, description="Free-form JSON object.")
    revision: int = Field(ge=1, description="The group's version after this change.")


class AgentLimits(Contract):
    """Guard rails for one agent run."""

    max_steps: int | None = Field(default=None, gt=0, description="Most tool/LLM steps per run.")
    max_tokens: int | None = Field(default=None, gt=0, description="Most tokens per run.")
    max_cost: Money | None = Field(default=None, description="Most money spent per run.")
    timeout_ms: int | None = Field(default=None, gt=0, description="Wall-clock limit per run.")


class PromptRef(Contract):
    """A prompt template of llm-gateway, by name and a label or a version."""

    name: str = Field(description="The prompt's name in llm-gateway.")
    label: str | None = Field(default=None, description="A label, e.g. `production`.")
    version: int | None = Field(default=None, ge=1, description="A version (null: the label's).")


class ToolPin(Contract):
    """A tool an agent may call, pinned to a version or following the tool's head."""

    name: str = Field(description="The tool's name.")
    version: str | None = Field(default=None, description="Its version (null: the head).")


class AgentSpec(Contract):
    """An agent: instructions, a model preference and the tools it may call."""

    name: str = Field(description="Unique agent name in the tenant.")
    description: str = Field(default="", description="What the agent is for.")
    kind: str = Field(default="assistant", description="Agent type, e.g. `assistant`, `worker`.")
    instructions: Sensitive[str] = Field(description="System prompt.")
    model: str | None = Field(default=None, description="Preferred model; null = routing.")
    tools: list[str] = Field(default_factory=list, description="Tool names it may call.")
    limits: AgentLimits = Field(default_factory=AgentLimits, description="Per-run guard rails.")
    version: int = Field(ge=1, description="Revision number.")
    prompt_ref: PromptRef | None = Field(
        default=None, description="Instructions as a gateway prompt (null: `instructions`)."
    )
    tool_pins: list[ToolPin] = Field(
        default_factory=list, description="`tools` with the versions they are pinned to."
    )


class AgentCreated(Event):
    """An agent was defined."""

    type: Literal["catalog.agent.created"] = Field(
        default="catalog.agent.created", description="Message type."
    )
    agent_id: UUID = Field(description="The agent.")
    spec: AgentSpec = Field(description="Its definition.")
    status: CatalogStatus = Field(default=CatalogStatus.DRAFT, description="Lifecycle status.")


class AgentUpdated(Event):
    """An agent changed; carries the new revision."""

    type: Literal["catalog.agent.updated"] = Field(
        default="catalog.agent.updated", description="Message type."
    )
    agent_id: UUID = Field(description="The agent.")
    spec: AgentSpec = Field(description="The new revision.")
    status: CatalogStatus = Field(description="Lifecycle status.")


class AgentDeprecated(Event):
    """An agent should no longer be used."""

    type: Literal["catalog.agent.deprecated"] = Field(
        default="catalog.agent.deprecated", description="Message type."
    )
    agent_id: UUID = Field(description="The agent.")
    name: str = Field(description="Agent name.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")
    spec: AgentSpec | None = Field(
        default=None,
        description="The agent's newest revision, frozen (null: an older publisher).",
    )


class TemplateSpec(Contract):
    """A reusable workflow template that planning can start a plan from."""

    key: str = Field(description="Stable unique key, e.g. `lead-qualification`.")
    name: str = Field(description="Display name.")
    description: str = Field(default="", description="What the template does.")
    category: str | None = Field(default=None, description="Grouping for browsing.")
    version: int = Field(ge=1, description="Revision number.")
    definition: JsonObject = Field(
        description="Plan skeleton: phases and steps in the planning plan shape."
    )
    parameters_schema: JsonObject = Field(
        default_factory=dict, description="JSON Schema of the parameters it takes."
    )
    kind: str | None = Field(default=None, description="What sort of plan it makes.")
    tags: list[str] = Field(default_factory=list, description="Free-form search tags.")


class TemplateCreated(Event):
    """A template was added as a draft."""

    type: Literal["catalog.template.created"] = Field(
        default="catalog.template.created", description="Message type."
    )
    template_id: UUID = Field(description="The template.")
    spec: TemplateSpec = Field(description="Its definition.")
    status: CatalogStatus = Field(default=CatalogStatus.DRAFT, description="Lifecycle status.")


class TemplateUpdated(Event):
    """A template changed; carries the new revision."""

    type: Literal["catalog.template.updated"] = Field(
        default="catalog.template.updated", description="Message type."
    )
    template_id: UUID = Field(description="The template.")
    spec: TemplateSpec = Field(description="The new revision.")
    status: CatalogStatus = Field(
        default=CatalogStatus.DRAFT, description="The new revision's lifecycle status."
    )


class TemplatePublished(Event):
    """A template revision became available to plan from."""

    type: Literal["catalog.template.published"] = Field(
        default="catalog.template.published", description="Message type."
    )
    template_id: UUID = Field(description="The template.")
    key: str = Field(description="Template key.")
    version: int = Field(ge=1, description="Published revision.")
    spec: TemplateSpec | None = Field(
        default=None,
        description="The published revision, frozen (null: an older publisher).",
    )


class TemplateDeprecated(Event):
    """A template should no longer be used."""

    type: Literal["catalog.template.deprecated"] = Field(
        default="catalog.template.deprecated", description="Message type."
    )
    template_id: UUID = Field(description="The template.")
    key: str = Field(description="Template key.")
    reason: Sensitive[str | None] = Field(default=None, description="Why.")
    spec: TemplateSpec | None = Field(
        default=None,
        description="The template's newest revision, frozen (null: an older publisher).",
    )
