"""Validating a version (or an unsaved body) and approving one: the gate to execution."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from agentsuite_contracts.planning import PlanApproved, PlanSnapshot, PlanValidated
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.plans import check_approvable, check_gate
from agentsuite_planning.handlers.checks import Checked, check, pin
from agentsuite_planning.handlers.drift import record_approval
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

# the event's issues are a sample: every issue of a plan of 1,000 steps, each naming
# thousands of unknown keys, would pass the bus's message limit (the full list is the
# version's `validation`)
EVENT_ISSUES = 100


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
            issues=checked.issues[:EVENT_ISSUES],
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
    row = await version_for(uow, plan.id, command.version)
    check_gate(
        forced=plan.gaps,
        accept_gaps=command.accept_gaps,
        required=deps.settings.approval_gap_override,
    )
    archived = plan.status == "archived"
    # execution runs an approved version as pinned then: the same number never gets a
    # second pinning (the catalog may have moved since), and approving it again changes
    # nothing and announces nothing unless it clears a drift
    kept = None if row.pinned is None else PlanSnapshot.model_validate(row.pinned)
    if kept is not None and not plan.stale and not archived:
        return plan, kept
    snapshot = PlanSnapshot.model_validate(row.body)
    checked = await check(uow, snapshot, limits_of(deps))
    check_approvable(snapshot, checked.issues, checked.forecast, archived=archived)
    pinned = kept or pin(snapshot, checked)
    await uow.versions.approve(
        plan.id,
        row.version,
        str(command.approver),
        pinned.model_dump(mode="json"),
        checked.as_json(),
    )
    newest = max(row.version, plan.approved_version or 0)
    if newest == row.version:
        # the newest approved version's requirements are what the plan cites from now on
        # (re-approving clears a drift); an older one approved later changes nothing there
        await record_approval(uow, plan.id, row.version, snapshot.requirements)
    # an older version approved later does not answer the drift of the newest approved one
    stale = plan.stale and newest != row.version
    await uow.plans.change(plan.id, status="approved", approved_version=newest, stale=stale)
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
