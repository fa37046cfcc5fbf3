"""Agents and their revisions: instructions (text or a gateway prompt), a model alias, the
tools it may call (pinned to versions or following their head) and per-run limits.

An agent's name never changes (execution resolves agents by name). A revision, once made,
never changes; publishing it is the only move (draft -> published), and a deprecated agent
takes no new revision. Execution runs the newest published revision by default.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from uuid import UUID

from agentsuite_catalog.domain.semver import parse
from agentsuite_catalog.domain.tools import check_name
from agentsuite_contracts.catalog import (
    AgentCreated,
    AgentDeprecated,
    AgentLimits,
    AgentSpec,
    AgentUpdated,
    CatalogStatus,
    PromptRef,
    ToolPin,
)
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.ids import uuid7
from agentsuite_kit.errors import Conflict, Invalid

KIND = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,199}$")
MAX_TOOLS = 64
MAX_INSTRUCTIONS = 32_000
MAX_DESCRIPTION = 4_000
MAX_REVISIONS = 1_000


@dataclass(frozen=True, slots=True)
class Agent:
    id: UUID
    tenant_id: UUID
    name: str
    created_at: datetime
    revisions: int = 1  # the newest revision's number
    deprecated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Revision:
    agent_id: UUID
    number: int
    status: CatalogStatus
    spec: AgentSpec
    created_at: datetime
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AgentDraft:
    instructions: str = ""
    prompt: PromptRef | None = None
    description: str = ""
    kind: str = "assistant"
    model: str | None = None
    tools: Sequence[ToolPin] = ()
    limits: AgentLimits = field(default_factory=AgentLimits)


def spec_of(name: str, number: int, draft: AgentDraft) -> AgentSpec:
    """Revision `number` of agent `name`; Invalid naming the field otherwise."""
    if not draft.instructions.strip() and draft.prompt is None:
        raise Invalid(
            "instructions_missing",
            "an agent needs instructions, as text or as a gateway prompt",
            field="instructions",
        )
    if len(draft.instructions) > MAX_INSTRUCTIONS:
        raise Invalid(
            "instructions_too_long",
            f"instructions have at most {MAX_INSTRUCTIONS} characters",
            field="instructions",
        )
    if len(draft.description) > MAX_DESCRIPTION:
        raise Invalid("description_too_long", "description is too long", field="description")
    if not KIND.match(draft.kind):
        raise Invalid("kind_invalid", "a kind is 1-32 lowercase letters, digits, _ -", field="kind")
    if draft.model is not None and not MODEL.match(draft.model):
        raise Invalid("model_invalid", "a model alias is 1-200 characters", field="model")
    if len(draft.tools) > MAX_TOOLS:
        raise Invalid(
            "too_many_tools", f"an agent may call at most {MAX_TOOLS} tools", field="tools"
        )
    seen: set[str] = set()
    for i, pin in enumerate(draft.tools):
        check_name_at(pin.name, f"tools[{i}].name")
        if pin.version is not None:
            parse(pin.version, f"tools[{i}].version")
        if pin.name in seen:
            raise Invalid("tool_twice", f"tool {pin.name} is listed twice", field=f"tools[{i}]")
        seen.add(pin.name)
    return AgentSpec(
        name=name,
        description=draft.description,
        kind=draft.kind,
        instructions=draft.instructions,
        model=draft.model,
        tools=[pin.name for pin in draft.tools],
        limits=draft.limits,
        version=number,
        prompt_ref=draft.prompt,
        tool_pins=list(draft.tools),
    )


def check_name_at(name: str, field: str) -> str:
    try:
        return check_name(name)
    except Invalid as exc:
        raise Invalid(exc.code, exc.message, field=field) from None


def new_agent(
    tenant_id: UUID, name: str, draft: AgentDraft, now: datetime
) -> tuple[Agent, Revision, list[Payload]]:
    agent = Agent(uuid7(), tenant_id, check_name(name), now)
    spec = spec_of(agent.name, 1, draft)
    revision = Revision(agent.id, 1, CatalogStatus.DRAFT, spec, now)
    return agent, revision, [AgentCreated(agent_id=agent.id, spec=spec)]


def revise(
    agent: Agent, draft: AgentDraft, now: datetime, *, name: str | None = None
) -> tuple[Agent, Revision, list[Payload]]:
    """The agent's next revision, a draft."""
    if name is not None and name != agent.name:
        raise Invalid(
            "name_immutable",
            f"an agent's name never changes: this agent is {agent.name!r}",
            field="name",
        )
    if agent.deprecated_at is not None:
        raise Conflict("agent_deprecated", f"agent {agent.name} is deprecated")
    if agent.revisions >= MAX_REVISIONS:
        raise Conflict("too_many_revisions", f"an agent has at most {MAX_REVISIONS} revisions")
    number = agent.revisions + 1
    spec = spec_of(agent.name, number, draft)
    revision = Revision(agent.id, number, CatalogStatus.DRAFT, spec, now)
    event = AgentUpdated(agent_id=agent.id, spec=spec, status=CatalogStatus.DRAFT)
    return replace(agent, revisions=number), revision, [event]


def publish(agent: Agent, revision: Revision, now: datetime) -> tuple[Revision, list[Payload]]:
    if agent.deprecated_at is not None:
        raise Conflict("agent_deprecated", f"agent {agent.name} is deprecated")
    if revision.status != CatalogStatus.DRAFT:
        raise Conflict("not_a_draft", f"revision {revision.number} is {revision.status.value}")
    done = replace(revision, status=CatalogStatus.PUBLISHED, published_at=now)
    event = AgentUpdated(agent_id=agent.id, spec=revision.spec, status=CatalogStatus.PUBLISHED)
    return done, [event]


def deprecate(
    agent: Agent, newest: AgentSpec | None, reason: str | None, now: datetime
) -> tuple[Agent, list[Payload]]:
    """`newest`: the newest revision's spec, sent whole so projections need not ask."""
    if agent.deprecated_at is not None:
        raise Conflict("agent_deprecated", f"agent {agent.name} is deprecated already")
    event = AgentDeprecated(agent_id=agent.id, name=agent.name, reason=reason, spec=newest)
    return replace(agent, deprecated_at=now), [event]
