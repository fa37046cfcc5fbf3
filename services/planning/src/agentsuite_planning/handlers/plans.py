"""Plans: create (version 1), edit (the next version, with who and why), archive."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import (
    PlanArchived,
    PlanDrafted,
    PlanSnapshot,
    PlanSource,
    PlanUpdated,
)
from agentsuite_kit.errors import Conflict, Invalid, NotFound, PreconditionFailed
from agentsuite_kit.tenants import may_write
from agentsuite_planning.deps import Deps
from agentsuite_planning.handlers.checks import Limits, structural
from agentsuite_planning.repositories.plans import PlanRow, VersionRow
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True, slots=True)
class PlanBody:
    """What a user writes of a plan (the snapshot without its id and version)."""

    content: dict[str, Any]
    reason: str


@dataclass(frozen=True, slots=True)
class CreatePlan:
    body: PlanBody
    author: str
    source: PlanSource = field(default_factory=lambda: PlanSource(kind="manual"))
    gaps: bool = False


@dataclass(frozen=True, slots=True)
class EditPlan:
    plan_id: UUID
    body: PlanBody
    author: str
    expected: int | None = None


@dataclass(frozen=True, slots=True)
class ArchivePlan:
    plan_id: UUID
    reason: str | None
    expected: int | None = None


def limits_of(deps: Deps) -> Limits:
    return Limits(max_steps=deps.settings.max_steps, max_bytes=deps.settings.max_plan_bytes)


async def writable(uow: PlanningUow) -> UUID:
    """The unit of work's tenant, refused when identity says it may not write."""
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # the edge hands a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant_id)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    return tenant_id


def snapshot_of(plan_id: UUID, version: int, body: PlanBody, deps: Deps) -> PlanSnapshot:
    """The version's snapshot; one the service could never carry (too many steps, too
    large for its event) is refused before it is stored."""
    plan = PlanSnapshot.model_validate({**body.content, "plan_id": plan_id, "version": version})
    for issue in structural(plan, limits_of(deps)):
        raise Invalid(issue.code, issue.message, field=issue.path)
    return plan


async def plan_for(
    uow: PlanningUow, plan_id: UUID, *, lock: bool = False, expected: int | None = None
) -> PlanRow:
    """The plan (404 when the tenant has none such); `expected`: its revision (412)."""
    plan = await uow.plans.get(plan_id, lock=lock)
    if plan is None:
        raise NotFound("plan_not_found", f"no plan {plan_id}")
    if expected is not None and plan.revision != expected:
        raise PreconditionFailed("revision_mismatch", f"the plan is at revision {plan.revision}")
    return plan


async def version_for(uow: PlanningUow, plan_id: UUID, version: int) -> VersionRow:
    found = await uow.versions.get(plan_id, version)
    if found is None:
        raise NotFound("version_not_found", f"plan {plan_id} has no version {version}")
    return found


async def create_plan(command: CreatePlan, uow: PlanningUow, deps: Deps) -> PlanRow:
    """Version 1 of a new plan; `planning.plan.drafted` goes out with the commit."""
    tenant_id = await writable(uow)
    plan_id = uuid7()
    snapshot = snapshot_of(plan_id, 1, command.body, deps)
    await uow.plans.add(
        {
            "id": plan_id,
            "tenant_id": tenant_id,
            "name": snapshot.name,
            "status": "draft",
            "head": 1,
            "source_kind": command.source.kind,
            "source_id": command.source.id,
            "gaps": command.gaps,
            "created_by": command.author,
        }
    )
    await uow.versions.add(
        {
            "tenant_id": tenant_id,
            "plan_id": plan_id,
            "version": 1,
            "body": snapshot.model_dump(mode="json"),
            "author": command.author,
            "reason": command.body.reason,
        }
    )
    uow.emit(PlanDrafted(plan_id=plan_id, source=command.source, plan=snapshot))
    made = await uow.plans.get(plan_id)
    assert made is not None  # written above, in this transaction
    return made


async def edit_plan(command: EditPlan, uow: PlanningUow, deps: Deps) -> PlanRow:
    """The plan's next version (head + 1), on top of the revision the caller read."""
    tenant_id = await writable(uow)
    plan = await plan_for(uow, command.plan_id, lock=True, expected=command.expected)
    if plan.status == "archived":
        raise Conflict("plan_archived", "an archived plan is not edited")
    version = plan.head + 1
    snapshot = snapshot_of(plan.id, version, command.body, deps)
    await uow.versions.add(
        {
            "tenant_id": tenant_id,
            "plan_id": plan.id,
            "version": version,
            "body": snapshot.model_dump(mode="json"),
            "author": command.author,
            "reason": command.body.reason,
        }
    )
    await uow.plans.change(plan.id, head=version, name=snapshot.name)
    uow.emit(
        PlanUpdated(plan_id=plan.id, version=version, summary=command.body.reason, plan=snapshot)
    )
    return await plan_for(uow, plan.id)


async def archive_plan(command: ArchivePlan, uow: PlanningUow, deps: Deps) -> PlanRow:
    """Retire the plan (again: nothing changes, nothing is emitted)."""
    await writable(uow)
    plan = await plan_for(uow, command.plan_id, lock=True, expected=command.expected)
    if plan.status != "archived":
        await uow.plans.change(plan.id, status="archived")
        uow.emit(PlanArchived(plan_id=plan.id, reason=command.reason))
    return await plan_for(uow, plan.id)
