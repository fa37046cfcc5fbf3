"""Placeholders for what schedules read from other parts of planning, until those parts
bind their own repositories under the same `uow` attribute names (PLACEHOLDER: replaced
at merge).

- `uow.runs` (plan-feeds, the `execution.executions.v1` projection):
  `open_for_schedule(schedule_id) -> int`, the schedule's runs not yet finished.
- `uow.schedule_targets` (plan-service, the plans and labels): `resolve(plan_id,
  version, label) -> Target`, the version a slot runs now, or why it runs none.
"""

from __future__ import annotations

from uuid import UUID

from agentsuite_kit.db import Repository
from agentsuite_planning.domain.schedules import Target


class NoRuns(Repository):
    """No projection of execution's runs yet: no schedule has an open run."""

    async def open_for_schedule(self, schedule_id: UUID) -> int:
        return 0


class PinnedOnly(Repository):
    """No plans or labels here yet: a pinned version is taken as runnable (execution
    refuses one it has not seen approved); a label points nowhere."""

    async def resolve(self, plan_id: UUID, version: int | None, label: str | None) -> Target:
        if version is not None:
            return Target(version=version)
        return Target(refused=f"label_unknown: label {label!r} points at no approved version")
