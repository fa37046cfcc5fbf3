"""What planning keeps of catalog, llm-gateway and execution events (DESIGN.md "Feeds"):
the catalog validation and pinning read, model prices and past runs' costs for the
forecast, open runs per schedule for the overlap policy.

A handler takes the envelope: its `occurred_at` orders the changes of one row (see
`repositories.catalog`). Each event is checked first (`check_envelope`): a tenant-less
event, or one whose subject is not the aggregate its payload names, raises `Invalid` and
is dead-lettered at once, never applied. Types not listed are skipped by the consumer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from agentsuite_contracts.catalog import (
    AgentCreated,
    AgentDeprecated,
    AgentUpdated,
    CatalogStatus,
    TemplateCreated,
    TemplateDeprecated,
    TemplatePublished,
    TemplateUpdated,
    ToolDeprecated,
    ToolPublished,
    ToolVersionDeprecated,
    ToolVersionPublished,
)
from agentsuite_contracts.common import Usage
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.execution import (
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionResumed,
    ExecutionStarted,
    StepSucceeded,
)
from agentsuite_contracts.llm import ModelRegistered, ModelRetired
from agentsuite_kit.errors import Invalid
from agentsuite_kit.messaging.consistency import check_envelope
from agentsuite_planning.domain.forecast import Price
from agentsuite_planning.uow import PlanningUow

Handler = Callable[[Envelope[Any], PlanningUow], Awaitable[None]]


async def tool_version_published(event: Envelope[ToolVersionPublished], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    await uow.catalog.add_tool_version(
        p.spec.name, p.spec.version, p.tool_id, dict(p.spec.input_schema), event.occurred_at
    )


async def tool_version_deprecated(event: Envelope[ToolVersionDeprecated], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    await uow.catalog.deprecate_tool_version(
        p.spec.name, p.spec.version, p.tool_id, dict(p.spec.input_schema), event.occurred_at
    )


async def tool_published(event: Envelope[ToolPublished], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    if p.spec is not None:
        # the head's version is published: stored here too when its own event is late
        await uow.catalog.add_tool_version(
            p.name, p.version, p.tool_id, dict(p.spec.input_schema), event.occurred_at
        )
    await uow.catalog.put_tool_head(p.name, p.tool_id, p.version, False, event.occurred_at)


async def tool_deprecated(event: Envelope[ToolDeprecated], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    await uow.catalog.put_tool_head(p.name, p.tool_id, None, True, event.occurred_at)


async def agent_revised(event: Envelope[AgentCreated | AgentUpdated], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    await uow.catalog.put_agent_revision(
        p.spec.name, p.spec.version, p.agent_id, CatalogStatus(p.status).value, event.occurred_at
    )


async def agent_deprecated(event: Envelope[AgentDeprecated], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    await uow.catalog.deprecate_agent(p.name, p.agent_id, event.occurred_at)


async def template_revised(
    event: Envelope[TemplateCreated | TemplateUpdated], uow: PlanningUow
) -> None:
    check_envelope(event)
    p = event.payload
    await uow.catalog.put_template(
        p.template_id,
        p.spec.key,
        p.spec.version,
        CatalogStatus(p.status).value,
        p.spec,
        event.occurred_at,
    )


async def template_published(event: Envelope[TemplatePublished], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    await uow.catalog.put_template(
        p.template_id, p.key, p.version, CatalogStatus.PUBLISHED.value, p.spec, event.occurred_at
    )


async def template_deprecated(event: Envelope[TemplateDeprecated], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    version = 1 if p.spec is None else p.spec.version
    await uow.catalog.put_template(
        p.template_id, p.key, version, CatalogStatus.DEPRECATED.value, p.spec, event.occurred_at
    )


async def model_registered(event: Envelope[ModelRegistered], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    if p.input_price.currency != p.output_price.currency:
        # one price row holds one currency; nothing a retry changes
        raise Invalid(
            "mixed_currency",
            f"model {p.model!r}: input price in {p.input_price.currency}, output price in "
            f"{p.output_price.currency}",
            field="output_price",
        )
    price = Price(
        input_micros_per_mtok=p.input_price.amount_micros,
        output_micros_per_mtok=p.output_price.amount_micros,
        currency=p.input_price.currency,
    )
    await uow.prices.put(p.model, price, event.occurred_at)


async def model_retired(event: Envelope[ModelRetired], uow: PlanningUow) -> None:
    check_envelope(event)
    await uow.prices.put(event.payload.model, None, event.occurred_at)


def _cost(usage: Usage | None) -> int | None:
    return None if usage is None else usage.cost.amount_micros


async def execution_started(event: Envelope[ExecutionStarted], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    await uow.runs.started(
        p.execution_id, p.plan_id, p.plan_version, p.schedule_id, str(p.trigger), event.occurred_at
    )


async def execution_ended(
    event: Envelope[ExecutionCompleted | ExecutionFailed | ExecutionCancelled], uow: PlanningUow
) -> None:
    check_envelope(event)
    p = event.payload
    usage = None if isinstance(p, ExecutionCancelled) else p.usage
    await uow.runs.state(p.execution_id, "finished", _cost(usage), event.occurred_at)


async def execution_resumed(event: Envelope[ExecutionResumed], uow: PlanningUow) -> None:
    # a rerun of a failed or cancelled run: open again until it ends again
    check_envelope(event)
    await uow.runs.state(event.payload.execution_id, "open", None, event.occurred_at)


async def step_succeeded(event: Envelope[StepSucceeded], uow: PlanningUow) -> None:
    check_envelope(event)
    p = event.payload
    cost = _cost(p.usage)
    if cost is not None:
        await uow.runs.step_cost(p.execution_id, p.step, cost, event.occurred_at)


TOOLS: Mapping[type[Payload], Handler] = {
    ToolVersionPublished: tool_version_published,
    ToolVersionDeprecated: tool_version_deprecated,
    ToolPublished: tool_published,
    ToolDeprecated: tool_deprecated,
}
AGENTS: Mapping[type[Payload], Handler] = {
    AgentCreated: agent_revised,
    AgentUpdated: agent_revised,
    AgentDeprecated: agent_deprecated,
}
TEMPLATES: Mapping[type[Payload], Handler] = {
    TemplateCreated: template_revised,
    TemplateUpdated: template_revised,
    TemplatePublished: template_published,
    TemplateDeprecated: template_deprecated,
}
MODELS: Mapping[type[Payload], Handler] = {
    ModelRegistered: model_registered,
    ModelRetired: model_retired,
}
EXECUTIONS: Mapping[type[Payload], Handler] = {
    ExecutionStarted: execution_started,
    ExecutionCompleted: execution_ended,
    ExecutionFailed: execution_ended,
    ExecutionCancelled: execution_ended,
    ExecutionResumed: execution_resumed,
    StepSucceeded: step_succeeded,
}
