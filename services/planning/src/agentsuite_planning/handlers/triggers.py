"""Publishing a plan as a trigger: create, change, delete, rotate its signing secret. The
secret is returned once (create, rotate) and never put in an event."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import (
    TriggerCreated,
    TriggerDeleted,
    TriggerKind,
    TriggerSpec,
    TriggerUpdated,
)
from agentsuite_kit.errors import Conflict, NotFound, PreconditionFailed
from agentsuite_kit.tenants import may_write
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.triggers import Trigger, changed, check_spec, new_secret
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True, slots=True)
class CreateTrigger:
    spec: TriggerSpec
    created_by: str | None


@dataclass(frozen=True, slots=True)
class UpdateTrigger:
    trigger_id: UUID
    spec: TriggerSpec
    expected: int | None


@dataclass(frozen=True, slots=True)
class Published:
    trigger: Trigger
    secret: str | None  # shown once: on create and on rotate, webhooks only


async def _writable(uow: PlanningUow) -> UUID:
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # the edge hands a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant_id)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    return tenant_id


def _missing(trigger_id: UUID) -> NotFound:
    return NotFound("trigger_not_found", f"no trigger {trigger_id}")


async def create_trigger(command: CreateTrigger, uow: PlanningUow, deps: Deps) -> Published:
    tenant_id = await _writable(uow)
    spec = check_spec(command.spec)
    trigger = Trigger(uuid7(), tenant_id, spec, 1, command.created_by)
    secret = new_secret() if spec.kind is TriggerKind.WEBHOOK else None
    sealed = None if secret is None else deps.trigger_secrets.seal(tenant_id, trigger.id, secret)
    await uow.triggers.add(trigger, sealed)
    uow.emit(TriggerCreated(trigger_id=trigger.id, spec=spec))
    return Published(trigger, secret)


async def update_trigger(command: UpdateTrigger, uow: PlanningUow, deps: Deps) -> Trigger:
    await _writable(uow)
    current = await uow.triggers.get(command.trigger_id, lock=True)
    if current is None:
        raise _missing(command.trigger_id)
    if command.expected is not None and command.expected != current.revision:
        raise PreconditionFailed(
            "revision_mismatch", f"the trigger is at revision {current.revision}"
        )
    after = changed(current, command.spec)
    if not await uow.triggers.save(after, current.revision):
        raise PreconditionFailed("revision_mismatch", "the trigger changed meanwhile")
    uow.emit(TriggerUpdated(trigger_id=after.id, spec=after.spec))
    return after


async def delete_trigger(
    trigger_id: UUID, expected: int | None, uow: PlanningUow, deps: Deps
) -> None:
    await _writable(uow)
    current = await uow.triggers.get(trigger_id, lock=True)
    if current is None:
        raise _missing(trigger_id)
    if not await uow.triggers.remove(trigger_id, expected):
        raise PreconditionFailed(
            "revision_mismatch", f"the trigger is at revision {current.revision}"
        )
    uow.emit(TriggerDeleted(trigger_id=trigger_id))


async def rotate_secret(trigger_id: UUID, uow: PlanningUow, deps: Deps) -> Published:
    """A new signing secret; the old one is still accepted for the grace period (a sender
    switches without losing a delivery). The secret it replaces is the current one: a
    second rotation within the grace drops the first's old secret."""
    tenant_id = await _writable(uow)
    current = await uow.triggers.get(trigger_id, lock=True)
    if current is None:
        raise _missing(trigger_id)
    if current.spec.kind is not TriggerKind.WEBHOOK:
        raise Conflict("not_a_webhook", "only a webhook trigger has a signing secret")
    secret = new_secret()
    sealed = deps.trigger_secrets.seal(tenant_id, trigger_id, secret)
    until = deps.clock() + timedelta(seconds=deps.settings.trigger_secret_grace)
    await uow.triggers.rotate(trigger_id, sealed, until, current.revision + 1)
    uow.emit(TriggerUpdated(trigger_id=trigger_id, spec=current.spec, secret_rotated=True))
    rotated = Trigger(
        current.id, tenant_id, current.spec, current.revision + 1, current.created_by, until
    )
    return Published(rotated, secret)
