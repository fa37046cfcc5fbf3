"""Where triggers read a plan's state (approved versions, labels, stale, archived).

`Deps.plan_targets.target(uow, plan_id)`: by default `StoredPlans`, a read of plan-service's
`plans`, `plan_versions` and `plan_labels` in the delivery's own unit of work, so a label is
resolved in the transaction that records the delivery. Tests may put a stand-in here."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from agentsuite_planning.domain.triggers import PlanTarget
from agentsuite_planning.uow import PlanningUow

# a plan has a handful of labels; the bound only keeps one read from growing without end
MAX_LABELS = 1_000


class PlanTargets(Protocol):
    async def target(self, uow: PlanningUow, plan_id: UUID) -> PlanTarget | None:
        """The plan of the unit of work's tenant as a delivery sees it, or None."""
        ...


class StoredPlans:
    """plan-service's tables, read through its repositories."""

    async def target(self, uow: PlanningUow, plan_id: UUID) -> PlanTarget | None:
        plan = await uow.plans.get(plan_id)
        if plan is None:
            return None
        approved = await uow.versions.approved(frozenset({plan_id}))
        labels = await uow.labels.of_plan(plan_id, MAX_LABELS)
        return PlanTarget(
            archived=plan.status == "archived",
            stale=plan.stale,
            approved=approved.get(plan_id, frozenset()),
            labels={label.name: label.version for label in labels},
        )
