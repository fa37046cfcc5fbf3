"""Validating a version (or an unsaved body) and approving one: the gate to execution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_contracts.planning import PlanApproved, PlanSnapshot, PlanValidated
from agentsuite_kit.errors import Conflict, Invalid
from agentsuite_planning.deps import Deps
from agentsuite_planning.handlers.checks import Checked, check, pin
from agentsuite_planning.handlers.plans import (
    PlanBody,
    limits_of,
    plan_for,
    snapshot_of,
    version_for,
    writable,
)
from agentsuite_planning.repositories.plans import PlanRow
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True, slots=True)
class ValidateVersion:
    plan_id: UUID
    version: int


@dataclass(frozen=True, slots=True)
class Approve:
    plan_id: UUID
    version: int
    approver: UUID
    comment: str | None = None
    accept_gaps: bool = False


def refused(code: str, message: str, checked: Checked) -> Invalid:
    """Approval refused for what validation found: the problem carries the issues."""
    return Invalid(code, message, extensions={"issues": checked.as_json()["issues"]})


async def validate_version(command: ValidateVersion, uow: PlanningUow, deps: Deps) -> Checked:
    """Validate a stored version, record the result on it, emit `planning.plan.validated`."""
    await writable(uow)
    await plan_for(uow, command.plan_id)
    row = await version_for(uow, command.plan_id, command.version)
    plan = PlanSnapshot.model_validate(row.body)
    checked = await check(uow, plan, limits_of(deps))
    await uow.versions.set_validation(command.plan_id, command.version, checked.as_json())
    uow.emit(
        PlanValidated(
            plan_id=command.plan_id,
            version=command.version,
            valid=checked.valid,
            issues=checked.issues,
            forecast=checked.forecast,
        )
    )
    return checked


async def validate_body(content: dict[str, Any], uow: PlanningUow, deps: Deps) -> Checked:
    """Validate a body without storing anything (its plan id is a placeholder)."""
    plan = snapshot_of(UUID(int=0), 1, PlanBody(content, ""), deps)
    return await check(uow, plan, limits_of(deps))


async def approve(command: Approve, uow: PlanningUow, deps: Deps) -> tuple[PlanRow, PlanSnapshot]:
    """Validate the version now, refuse errors and a forecast over budget, hold the
    discovery gate, pin every tool and agent version, and emit the pinned snapshot."""
    await writable(uow)
    plan = await plan_for(uow, command.plan_id, lock=True)
    if plan.status == "archived":
        raise Conflict("plan_archived", "an archived plan is not approved")
    row = await version_for(uow, plan.id, command.version)
    if plan.gaps and deps.settings.approval_gap_override and not command.accept_gaps:
        raise Conflict(
            "gaps_not_accepted",
            "the plan's requirements come from a session completed with gaps: approve with "
            "accept_gaps true",
        )
    snapshot = PlanSnapshot.model_validate(row.body)
    checked = await check(uow, snapshot, limits_of(deps))
    if checked.over_budget:
        raise refused("over_budget", "the forecast p95 is over the plan's budget", checked)
    if not checked.valid:
        raise refused("plan_invalid", "the version has validation errors", checked)
    pinned = await pin(uow, snapshot)
    await uow.versions.approve(
        plan.id,
        row.version,
        str(command.approver),
        pinned.model_dump(mode="json"),
        checked.as_json(),
    )
    newest = max(row.version, plan.approved_version or 0)
    await uow.plans.change(plan.id, status="approved", approved_version=newest, stale=False)
    uow.emit(
        PlanApproved(
            plan_id=plan.id,
            version=row.version,
            approved_by=command.approver,
            comment=command.comment,
            plan=pinned,
            forecast=checked.forecast,
        )
    )
    return await plan_for(uow, plan.id), pinned
