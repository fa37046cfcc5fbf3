"""Labels: point one at an approved version (moving it back is the rollback), remove one;
every move is kept and emitted."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from agentsuite_contracts.planning import LabelMoved
from agentsuite_kit.errors import Conflict, NotFound, PreconditionFailed
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.plans import check_label, check_label_target
from agentsuite_planning.handlers.plans import plan_for, version_for, writable
from agentsuite_planning.repositories.labels import LabelRow
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True, slots=True)
class MoveLabel:
    plan_id: UUID
    name: str
    version: int
    by: str
    reason: str | None = None
    expected: int | None = None


@dataclass(frozen=True, slots=True)
class RemoveLabel:
    plan_id: UUID
    name: str
    by: str
    reason: str | None = None
    expected: int | None = None


def _expect(label: LabelRow | None, expected: int | None) -> None:
    """If-Match on a label: its revision; a label that does not exist matches nothing."""
    if expected is not None and (label is None or label.revision != expected):
        raise PreconditionFailed("revision_mismatch", "the label has moved since it was read")


async def move_label(command: MoveLabel, uow: PlanningUow, deps: Deps) -> LabelRow:
    """Point the label at an approved version; pointing it where it is changes nothing."""
    tenant_id = await writable(uow)
    plan = await plan_for(uow, command.plan_id, lock=True)
    name = check_label(command.name)
    if plan.status == "archived":
        raise Conflict("plan_archived", "an archived plan's labels do not move")
    target = await version_for(uow, plan.id, command.version)
    check_label_target(target.version, target.approved_at is not None)
    label = await uow.labels.get(plan.id, name)
    _expect(label, command.expected)
    if label is not None and label.version == target.version:
        return label
    moved = await uow.labels.put(tenant_id, plan.id, name, target.version)
    previous = None if label is None else label.version
    await uow.labels.record(
        {
            "tenant_id": tenant_id,
            "plan_id": plan.id,
            "label": name,
            "from_version": previous,
            "to_version": target.version,
            "moved_by": command.by,
            "reason": command.reason,
        }
    )
    uow.emit(
        LabelMoved(
            plan_id=plan.id,
            label=name,
            version=target.version,
            previous=previous,
            reason=command.reason,
        )
    )
    return moved


async def remove_label(command: RemoveLabel, uow: PlanningUow, deps: Deps) -> None:
    """Remove the label; the move (to nothing) is kept like any other."""
    tenant_id = await writable(uow)
    plan = await plan_for(uow, command.plan_id, lock=True)
    name = check_label(command.name)
    label = await uow.labels.get(plan.id, name)
    if label is None:
        raise NotFound("label_not_found", f"plan {plan.id} has no label {name}")
    _expect(label, command.expected)
    await uow.labels.remove(plan.id, name)
    await uow.labels.record(
        {
            "tenant_id": tenant_id,
            "plan_id": plan.id,
            "label": name,
            "from_version": label.version,
            "to_version": None,
            "moved_by": command.by,
            "reason": command.reason,
        }
    )
    uow.emit(
        LabelMoved(
            plan_id=plan.id, label=name, version=None, previous=label.version, reason=command.reason
        )
    )
