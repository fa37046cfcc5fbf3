"""What validation and pinning need to know from outside the plan, as plain data: a handler
builds it from planning's catalog projection (tools, agents) and its own plans table
(approved versions, for subplans), loading only what `references(plan)` names."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_contracts.planning import PlanSnapshot


@dataclass(frozen=True, slots=True)
class ToolVersion:
    version: str
    deprecated: bool = False
    input_schema: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ToolEntry:
    name: str
    latest: str | None  # latest published version; None: nothing published
    deprecated: bool = False
    versions: Mapping[str, ToolVersion] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AgentEntry:
    name: str
    latest: int | None
    deprecated: bool = False
    revisions: Mapping[int, bool] = field(default_factory=dict)  # revision -> deprecated


@dataclass(frozen=True, slots=True)
class Lookup:
    tools: Mapping[str, ToolEntry] = field(default_factory=dict)
    agents: Mapping[str, AgentEntry] = field(default_factory=dict)
    # the tenant's plans -> their approved versions (subplans run an approved version)
    plans: Mapping[UUID, frozenset[int]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refs:
    """What a plan names outside itself: the keys a handler loads a `Lookup` and prices by."""

    tools: frozenset[str]
    agents: frozenset[str]
    plans: frozenset[UUID]
    models: frozenset[str]


def references(plan: PlanSnapshot) -> Refs:
    """The tools, agents, subplans and models `plan` names (bounded by its size)."""
    tools: set[str] = set()
    agents: set[str] = set()
    plans: set[UUID] = set()
    models: set[str] = set()
    for phase in plan.phases:
        for s in phase.steps:
            if s.tool is not None:
                tools.add(s.tool.tool)
            if s.agent is not None:
                agents.add(s.agent.agent)
            if s.subplan is not None:
                plans.add(s.subplan.plan_id)
            if s.llm is not None:
                tools.update(s.llm.tools)
                if s.llm.model is not None:
                    models.add(s.llm.model)
    return Refs(frozenset(tools), frozenset(agents), frozenset(plans), frozenset(models))
