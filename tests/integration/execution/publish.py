"""Events of other services, sent to execution through the real broker as their relays
send them (envelope with tenant and producer, keyed by the topic's key, routing headers),
and builders of the typical ones: an approved plan, a published tool, an agent, a model."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from agentsuite_contracts.catalog import (
    AgentCreated,
    AgentSpec,
    BindingKind,
    CatalogStatus,
    ToolBinding,
    ToolPublished,
    ToolSpec,
    ToolVersionPublished,
)
from agentsuite_contracts.common import Money
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.llm import ModelRegistered
from agentsuite_contracts.planning import PlanApproved, PlanPhase, PlanSnapshot
from agentsuite_contracts.registry import subject_of
from agentsuite_contracts.steps import Budget, PlanStep, StepKind, ToolStep
from tests.integration.kafka_helpers import send as send

PRODUCERS = {"planning": "planning", "catalog": "catalog", "llm": "llm-gateway"}


def envelope(
    payload: Payload,
    *,
    tenant_id: UUID | None,
    producer: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope[Any]:
    """`payload` in the envelope its owner would send (producer: the topic's owner)."""
    return Envelope[Any](
        producer=producer or PRODUCERS[payload.type.split(".", 1)[0]],
        tenant_id=tenant_id,
        subject=subject_of(payload),
        correlation_id=uuid4(),
        occurred_at=occurred_at or datetime.now(UTC),
        payload=payload,
    )


async def publish(
    kafka: str,
    topic: str,
    payload: Payload,
    *,
    tenant_id: UUID | None,
    producer: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope[Any]:
    """Publish one event as service `producer` would; its envelope."""
    sent = envelope(payload, tenant_id=tenant_id, producer=producer, occurred_at=occurred_at)
    await send(kafka, topic, [sent])
    return sent


# --- builders ------------------------------------------------------------------------------


def noop_step(key: str = "noop", depends_on: Sequence[str] = ()) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=list(depends_on),
        tool=ToolStep(tool="builtin.noop"),
    )


def plan_approved(
    tenant: UUID | None = None,
    steps: Sequence[PlanStep] | None = None,
    *,
    plan_id: UUID | None = None,
    version: int = 1,
    name: str = "plan",
    inputs_schema: dict[str, Any] | None = None,
    budget: Budget | None = None,
    approved_by: UUID | None = None,
) -> PlanApproved:
    """An approved plan of one phase holding `steps` (default: one `builtin.noop` step).

    `tenant` is not part of the payload: publish it with `tenant_id=`.
    """
    plan_id = plan_id or uuid4()
    snapshot = PlanSnapshot(
        plan_id=plan_id,
        version=version,
        name=name,
        goal="run the steps",
        inputs_schema=inputs_schema or {},
        phases=[PlanPhase(key="main", name="main", steps=list(steps or [noop_step()]))],
        budget=budget,
    )
    return PlanApproved(
        plan_id=plan_id, version=version, approved_by=approved_by or uuid4(), plan=snapshot
    )


def tool_spec(
    name: str,
    version: str = "1.0.0",
    *,
    binding: ToolBinding | None = None,
    input_schema: dict[str, Any] | None = None,
) -> ToolSpec:
    """A tool version (default binding: builtin `echo`)."""
    return ToolSpec(
        name=name,
        version=version,
        display_name=name,
        description=f"{name} for tests",
        input_schema=input_schema or {"type": "object"},
        output_schema={},
        binding=binding or ToolBinding(kind=BindingKind.BUILTIN, target="echo"),
    )


def tool_published(
    spec: ToolSpec, tool_id: UUID | None = None
) -> tuple[ToolVersionPublished, ToolPublished]:
    """The two events that make `spec` the tool's head version, in catalog's order."""
    tool_id = tool_id or uuid4()
    return (
        ToolVersionPublished(tool_id=tool_id, tool_version_id=uuid4(), spec=spec),
        ToolPublished(tool_id=tool_id, name=spec.name, version=spec.version),
    )


def agent_spec(
    name: str,
    version: int = 1,
    *,
    tools: Sequence[str] = (),
    model: str | None = None,
    instructions: str = "You help.",
) -> AgentSpec:
    return AgentSpec(
        name=name, version=version, instructions=instructions, model=model, tools=list(tools)
    )


def agent_created(
    spec: AgentSpec,
    *,
    agent_id: UUID | None = None,
    status: CatalogStatus = CatalogStatus.PUBLISHED,
) -> AgentCreated:
    return AgentCreated(agent_id=agent_id or uuid4(), spec=spec, status=status)


def model_registered(
    model: str,
    input_price: str = "1.00",
    output_price: str = "2.00",
    *,
    provider_id: UUID | None = None,
    currency: str = "USD",
) -> ModelRegistered:
    """Prices in currency units per million tokens, as decimal strings."""
    return ModelRegistered(
        provider_id=provider_id or uuid4(),
        model=model,
        context_window=128_000,
        input_price=Money.of(input_price, currency),
        output_price=Money.of(output_price, currency),
        tier="balanced",
    )
