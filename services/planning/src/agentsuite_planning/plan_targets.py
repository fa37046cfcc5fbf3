"""Where triggers read a plan's state (approved versions, labels, stale, archived).

plan-service owns the plans tables; until its repositories are in this branch, the seam is
`Deps.plan_targets.target(uow, plan_id)`, and the default knows no plan (every delivery is
refused `plan_not_found`). At merge it becomes a read of `plans`/`plan_versions`/
`plan_labels` in the same unit of work as the delivery, so a label is resolved in the
transaction that records the delivery."""

from __future__ import annotations

from typing import Protocol
from uuid import UUID

from agentsuite_planning.domain.triggers import PlanTarget
from agentsuite_planning.uow import PlanningUow


class PlanTargets(Protocol):
    async def target(self, uow: PlanningUow, plan_id: UUID) -> PlanTarget | None:
        """The plan of the unit of work's tenant as a delivery sees it, or None."""
        ...


class NoPlans:
    """No plan store yet: nothing resolves."""

    async def target(self, uow: PlanningUow, plan_id: UUID) -> PlanTarget | None:
        return None
