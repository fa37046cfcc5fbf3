"""THIN CALL SITE until plan-service's create handler lands (branch fix/plan-service):
drafting creates a plan's version 1 through `create_plan` and nothing else, so the merge
swaps this body for a call of that handler (plans/plan_versions rows, validation recorded,
`planning.plan.drafted`). Until then it only emits `planning.plan.drafted` with the
snapshot: no plans table exists on this branch."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import PlanDrafted, PlanSnapshot, PlanSource, Requirement
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.drafting import PlanBody
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True)
class NewPlan:
    """A plan's first version: its body, the requirements it cites, where it came from,
    who it is by (a user id, when known) and why (the enhancement log's first line)."""

    body: PlanBody
    source: PlanSource
    reason: str
    author: str | None = None
    requirements: list[Requirement] = field(default_factory=list)


async def create_plan(command: NewPlan, uow: PlanningUow, deps: Deps) -> UUID:
    """The new plan's id (version 1)."""
    del deps
    plan_id = uuid7()
    snapshot = PlanSnapshot(
        plan_id=plan_id,
        version=1,
        requirements=command.requirements,
        **command.body.model_dump(),
    )
    uow.emit(PlanDrafted(plan_id=plan_id, source=command.source, plan=snapshot))
    return plan_id
