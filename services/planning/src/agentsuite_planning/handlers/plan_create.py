"""A drafted plan's version 1 through plan-service's create handler (`handlers.plans`),
validated at once so the draft's issues (a cycle the model wrote, an unknown tool) are its
recorded validation, for the user who edits it."""

from __future__ import annotations

from dataclasses import dataclass, field
from uuid import UUID

from agentsuite_contracts.planning import PlanSource, Requirement
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.drafting import PlanBody
from agentsuite_planning.handlers import plans
from agentsuite_planning.handlers.approval import ValidateVersion, validate_version
from agentsuite_planning.uow import PlanningUow

# the author of a draft nobody in particular asked for (the session's completion named no user)
SYSTEM_AUTHOR = "planning"


@dataclass(frozen=True)
class NewPlan:
    """A plan's first version: its body, the requirements it cites, where it came from,
    who it is by (a user id, when known), why (the enhancement log's first line), and
    whether its requirements have gaps (the discovery gate)."""

    body: PlanBody
    source: PlanSource
    reason: str
    author: str | None = None
    requirements: list[Requirement] = field(default_factory=list)
    gaps: bool = False


async def create_plan(command: NewPlan, uow: PlanningUow, deps: Deps) -> UUID:
    """The new plan's id (version 1, validated)."""
    content = command.body.model_dump(mode="json")
    content["requirements"] = [r.model_dump(mode="json") for r in command.requirements]
    made = await plans.create_plan(
        plans.CreatePlan(
            body=plans.PlanBody(content, command.reason),
            author=command.author or SYSTEM_AUTHOR,
            source=command.source,
            gaps=command.gaps,
        ),
        uow,
        deps,
    )
    await validate_version(ValidateVersion(made.id, 1), uow, deps)
    return made.id
