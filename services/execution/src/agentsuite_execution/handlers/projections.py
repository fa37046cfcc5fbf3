"""What execution keeps of planning, catalog and llm-gateway events: approved and stale
plans, published tools and their deprecations (tool and version), agent revisions, model
prices; and a run per schedule firing and per trigger delivery.

A handler takes the envelope: its `occurred_at` orders the changes of one row (see
`repositories.projections`). Types not listed (drafts, validations, tool drafts,
provider changes) are skipped by the consumer: only approved and published things run.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentsuite_contracts.catalog import (
    AgentCreated,
    AgentDeprecated,
    AgentUpdated,
    ToolDeprecated,
    ToolPublished,
    ToolVersionDeprecated,
    ToolVersionPublished,
)
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.execution import Trigger
from agentsuite_contracts.llm import ModelRegistered, ModelRetired
from agentsuite_contracts.planning import (
    PlanApproved,
    PlanArchived,
    PlanStale,
    ScheduleFired,
    TriggerFired,
    TriggerKind,
)
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.catalog import Price
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.handlers import runs
from agentsuite_execution.uow import ExecutionUow

log = logging.getLogger(__name__)

Handler = Callable[[Envelope[Any], ExecutionUow], Awaitable[None]]


class NotRunnableYet(Exception):
    """A firing refused for now. Not a `DomainError` (which a consumer dead-letters at
    once): the consumer's retry tiers take it, and a later try may find the plan."""


async def plan_approved(event: Envelope[PlanApproved], uow: ExecutionUow) -> None:
    approved = event.payload
    await uow.plans.approve(
        approved.plan, approved.version, approved.approved_by, event.occurred_at
    )


async def plan_archived(event: Envelope[PlanArchived], uow: ExecutionUow) -> None:
    await uow.plans.archive(event.payload.plan_id, event.occurred_at)


async def plan_stale(event: Envelope[PlanStale], uow: ExecutionUow) -> None:
    await uow.plans.mark_stale(event.payload.plan_id, event.occurred_at)


async def tool_version_published(event: Envelope[ToolVersionPublished], uow: ExecutionUow) -> None:
    published = event.payload
    await uow.tools.add_version(
        published.tool_id, published.tool_version_id, published.spec, event.occurred_at
    )


async def tool_published(event: Envelope[ToolPublished], uow: ExecutionUow) -> None:
    published = event.payload
    await uow.tools.publish(published.tool_id, published.name, published.version, event.occurred_at)


async def tool_deprecated(event: Envelope[ToolDeprecated], uow: ExecutionUow) -> None:
    deprecated = event.payload
    await uow.tools.deprecate(
        deprecated.tool_id, deprecated.name, deprecated.sunset_at, event.occurred_at
    )


async def tool_version_deprecated(
    event: Envelope[ToolVersionDeprecated], uow: ExecutionUow
) -> None:
    deprecated = event.payload
    await uow.tools.deprecate_version(
        deprecated.tool_id,
        deprecated.tool_version_id,
        deprecated.spec,
        deprecated.sunset_at,
        event.occurred_at,
    )


async def agent_revised(event: Envelope[AgentCreated | AgentUpdated], uow: ExecutionUow) -> None:
    revised = event.payload
    await uow.agents.revise(revised.agent_id, revised.spec, revised.status, event.occurred_at)


async def agent_deprecated(event: Envelope[AgentDeprecated], uow: ExecutionUow) -> None:
    await uow.agents.deprecate(event.payload.agent_id, event.payload.name, event.occurred_at)


async def model_registered(event: Envelope[ModelRegistered], uow: ExecutionUow) -> None:
    model = event.payload
    price = Price.of(model.model, model.input_price, model.output_price)
    await uow.models.register(price, event.occurred_at)


async def model_retired(event: Envelope[ModelRetired], uow: ExecutionUow) -> None:
    await uow.models.retire(event.payload.model, event.occurred_at)


# refusals a later try cannot change: the firing is dropped (with a warning), not retried
_FOR_GOOD = ("invalid", "tenant_inactive", "plan_stale")

# a delivery id is a unique key's part: one past this is refused, not indexed
MAX_DELIVERY_ID = 255


async def schedule_fired(event: Envelope[ScheduleFired], uow: ExecutionUow, deps: Deps) -> None:
    """Start the slot's run (`start` makes a repeated slot one run).

    A firing that can never run (plan archived or stale, inputs refused, the tenant
    suspended or deleted) is dropped with a warning. Any other refusal (the plan version
    not approved here yet: planning's two topics are not ordered with each other) goes
    back to the consumer's retry tiers (`NotRunnableYet`).
    """
    fired = event.payload
    command = runs.StartRun(
        plan_id=fired.plan_id,
        plan_version=fired.plan_version,
        inputs=dict(fired.inputs),
        trigger=Trigger.SCHEDULE,
        schedule_id=fired.schedule_id,
        due_at=fired.due_at,
    )
    await _start(command, uow, deps, f"schedule {fired.schedule_id}: slot {fired.due_at}")


async def trigger_fired(event: Envelope[TriggerFired], uow: ExecutionUow, deps: Deps) -> None:
    """Start the delivery's run: one per (trigger, delivery) however often it comes, by
    the same rules as a schedule's slot (`schedule_fired`)."""
    fired = event.payload
    what = f"trigger {fired.trigger_id}: delivery {fired.delivery_id[:MAX_DELIVERY_ID]!r}"
    if len(fired.delivery_id) > MAX_DELIVERY_ID:
        log.warning("%s not run: its id is past %d characters", what, MAX_DELIVERY_ID)
        return
    command = runs.StartRun(
        plan_id=fired.plan_id,
        plan_version=fired.plan_version,
        inputs=dict(fired.inputs),
        trigger=Trigger.EVENT if fired.kind == TriggerKind.WEBHOOK else Trigger.API,
        trigger_id=fired.trigger_id,
        delivery_id=fired.delivery_id,
    )
    await _start(command, uow, deps, what)


async def _start(command: runs.StartRun, uow: ExecutionUow, deps: Deps, what: str) -> None:
    try:
        await runs.start(command, uow, deps)
    except RunError as exc:
        retry = exc.code not in _FOR_GOOD
        if retry and not await uow.plans.archived(command.plan_id):
            raise NotRunnableYet(f"{exc.code}: {exc.message}") from exc
        log.warning(
            "%s of plan %s v%s not run: %s (field %s)",
            what,
            command.plan_id,
            command.plan_version,
            exc.code,
            exc.field,
        )


PLANS: Mapping[type[Payload], Handler] = {
    PlanApproved: plan_approved,
    PlanArchived: plan_archived,
    PlanStale: plan_stale,
}
TOOLS: Mapping[type[Payload], Handler] = {
    ToolVersionPublished: tool_version_published,
    ToolPublished: tool_published,
    ToolDeprecated: tool_deprecated,
    ToolVersionDeprecated: tool_version_deprecated,
}
AGENTS: Mapping[type[Payload], Handler] = {
    AgentCreated: agent_revised,
    AgentUpdated: agent_revised,
    AgentDeprecated: agent_deprecated,
}
MODELS: Mapping[type[Payload], Handler] = {
    ModelRegistered: model_registered,
    ModelRetired: model_retired,
}
