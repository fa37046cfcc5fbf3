"""Plans for the domain tests, written short."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.planning import PlanPhase, PlanSnapshot, Requirement
from agentsuite_contracts.steps import (
    AgentStep,
    ApprovalStep,
    ConditionStep,
    LlmStep,
    MapStep,
    ParallelStep,
    PlanStep,
    StepKind,
    SubplanStep,
    ToolStep,
)
from agentsuite_planning.domain.lookup import AgentEntry, Lookup, ToolEntry, ToolVersion

PLAN_ID = UUID("00000000-0000-0000-0000-0000000000aa")
SUB = UUID("00000000-0000-0000-0000-0000000000bb")
SEND_SCHEMA = {
    "type": "object",
    "properties": {"to": {"type": "string"}, "count": {"type": "integer"}},
    "required": ["to"],
    "additionalProperties": False,
}


def plan(*steps: PlanStep, **fields: Any) -> PlanSnapshot:
    body: dict[str, Any] = {
        "plan_id": PLAN_ID,
        "version": 1,
        "name": "p",
        "goal": "g",
        "phases": [PlanPhase(key="main", name="main", steps=list(steps))],
    }
    body.update(fields)
    return PlanSnapshot(**body)


def tool(
    key: str, *deps: str, name: str = "send", compensation: str | None = None, **block: Any
) -> PlanStep:
    block.setdefault("input", {"to": "a@example.com"})
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=list(deps),
        tool=ToolStep(tool=name, **block),
        compensation=compensation,
    )


def step(key: str, kind: StepKind, *deps: str, **fields: Any) -> PlanStep:
    return PlanStep(key=key, name=key, kind=kind, depends_on=list(deps), **fields)


def llm(key: str, *deps: str, prompt: str = "hello", **block: Any) -> PlanStep:
    return step(key, StepKind.LLM, *deps, llm=LlmStep(prompt=prompt, **block))


def agent(key: str, *deps: str, name: str = "writer", **block: Any) -> PlanStep:
    block.setdefault("task", "write")
    return step(key, StepKind.AGENT, *deps, agent=AgentStep(agent=name, **block))


def cond(key: str, *deps: str, expression: str = "true", yes: list[str], no: list[str]) -> PlanStep:
    spec = ConditionStep(expression=expression, if_true=yes, if_false=no)
    return step(key, StepKind.CONDITION, *deps, condition=spec)


def fan(key: str, *branches: list[str]) -> PlanStep:
    return step(key, StepKind.PARALLEL, parallel=ParallelStep(branches=list(branches)))


def each(key: str, body: list[str], *deps: str, items: str = "${inputs.xs}") -> PlanStep:
    return step(key, StepKind.MAP, *deps, map=MapStep(items=items, body=body))


def approval(key: str, *approvers: str) -> PlanStep:
    return step(
        key, StepKind.APPROVAL, approval=ApprovalStep(prompt="ok?", approvers=list(approvers))
    )


def subplan(key: str, plan_id: UUID = SUB, version: int | None = None) -> PlanStep:
    return step(key, StepKind.SUBPLAN, subplan=SubplanStep(plan_id=plan_id, plan_version=version))


def requirement(key: str) -> Requirement:
    return Requirement(key=key, title=key, session_id=uuid4())


def lookup(**overrides: Any) -> Lookup:
    tools = {
        "send": ToolEntry(
            "send",
            latest="1.0.0",
            versions={
                "1.0.0": ToolVersion("1.0.0", input_schema=SEND_SCHEMA),
                "0.9.0": ToolVersion("0.9.0", deprecated=True, input_schema=SEND_SCHEMA),
            },
        ),
        "draft": ToolEntry("draft", latest=None),
    }
    agents = {
        "writer": AgentEntry("writer", latest=2, revisions={1: True, 2: False}),
        "ghost": AgentEntry("ghost", latest=None),
    }
    base: dict[str, Any] = {"tools": tools, "agents": agents, "plans": {SUB: frozenset({1, 2})}}
    base.update(overrides)
    return Lookup(**base)
