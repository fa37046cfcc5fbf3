"""A plan from a published catalog template and the caller's parameters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from agentsuite_contracts.planning import PlanSource
from agentsuite_kit.errors import Conflict, NotFound
from agentsuite_kit.tenants import may_write
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.templates import instantiate
from agentsuite_planning.handlers.plan_create import NewPlan, create_plan
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True)
class FromTemplate:
    template: str  # key or id
    author: str
    parameters: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


@dataclass(frozen=True)
class Instantiated:
    plan_id: UUID
    template_key: str
    template_version: int
    repairs: list[str]


async def plan_from_template(command: FromTemplate, uow: PlanningUow, deps: Deps) -> Instantiated:
    """The new plan's id; NotFound for a template not published, Invalid naming the
    parameter that does not fit."""
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # the edge hands a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant_id)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    record = await uow.templates.published(command.template)
    if record is None:
        raise NotFound(
            "template_not_found", f"no published template {command.template!r}", field="template"
        )
    spec = record.spec
    drafted = instantiate(spec, command.parameters)
    reason = command.reason or f"instantiated from template {spec.key} v{spec.version}"
    plan_id = await create_plan(
        NewPlan(
            body=drafted.body,
            source=PlanSource(kind="template", id=spec.key),
            reason=reason,
            author=command.author,
        ),
        uow,
        deps,
    )
    return Instantiated(plan_id, spec.key, spec.version, drafted.repairs)
