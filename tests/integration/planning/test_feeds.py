"""The feeds' projections through the real broker: every event delivered 1-5 times and
shuffled across keys ends in the state of each applied once in order; an older event
applied after a newer one changes nothing; another tenant's events never show; a poison
event is dead-lettered, never applied nor retried."""

from __future__ import annotations

import random
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.catalog import (
    AgentDeprecated,
    AgentSpec,
    AgentUpdated,
    CatalogStatus,
    TemplatePublished,
    TemplateSpec,
    TemplateUpdated,
    ToolDeprecated,
    ToolPublished,
    ToolVersionDeprecated,
    ToolVersionPublished,
)
from agentsuite_contracts.common import ErrorInfo, Money, Usage
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.execution import (
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionStarted,
    StepSucceeded,
    Trigger,
)
from agentsuite_contracts.llm import ModelRegistered, ModelRetired
from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TEMPLATES_V1,
    CATALOG_TOOLS_V1,
    EXECUTION_EXECUTIONS_V1,
    LLM_PROVIDERS_V1,
)
from agentsuite_planning.domain.forecast import History, Price
from agentsuite_planning.domain.lookup import AgentEntry, Lookup, Refs, ToolEntry, ToolVersion
from tests.integration.planning.feeds_support import (
    applied,
    at,
    dead_letter,
    deliveries,
    envelope,
    timeline,
    tool_spec,
)
from tests.integration.planning.harness import Service, send

pytestmark = pytest.mark.integration

SCHEMA = {"type": "object", "required": ["q"], "properties": {"q": {"type": "string"}}}


def usage(micros: int) -> Usage:
    return Usage(
        prompt_tokens=10,
        completion_tokens=10,
        total_tokens=20,
        cost=Money(amount_micros=micros, currency="USD"),
    )


def catalog_of(seed: int) -> tuple[list[Payload], list[Payload], list[Payload]]:
    """Tools, agents and templates of one tenant, in catalog's order. `seed` varies the
    names so two tenants' catalogs differ."""
    tool = uuid4()
    old, new = tool_spec("web.search", "1.0.0"), tool_spec("web.search", "2.0.0", SCHEMA)
    gone = uuid4()
    tools: list[Payload] = [
        ToolVersionPublished(tool_id=tool, tool_version_id=uuid4(), spec=old),
        ToolPublished(tool_id=tool, name="web.search", version="1.0.0"),
        ToolVersionPublished(tool_id=tool, tool_version_id=uuid4(), spec=new),
        ToolPublished(tool_id=tool, name="web.search", version="2.0.0", spec=new),
        ToolVersionDeprecated(tool_id=tool, tool_version_id=uuid4(), spec=old),
        ToolPublished(
            tool_id=gone, name=f"old.tool{seed}", version="0.1.0", spec=tool_spec("x", "0.1.0")
        ),
        ToolDeprecated(tool_id=gone, name=f"old.tool{seed}"),
    ]
    writer, retired = uuid4(), uuid4()

    def agent(agent_id: UUID, name: str, revision: int, status: CatalogStatus) -> AgentUpdated:
        spec = AgentSpec(name=name, version=revision, instructions="You help.")
        return AgentUpdated(agent_id=agent_id, spec=spec, status=status)

    agents: list[Payload] = [
        agent(writer, "writer", 1, CatalogStatus.PUBLISHED),
        agent(writer, "writer", 2, CatalogStatus.PUBLISHED),
        agent(writer, "writer", 3, CatalogStatus.DRAFT),
        agent(retired, f"retired{seed}", 1, CatalogStatus.PUBLISHED),
        AgentDeprecated(agent_id=retired, name=f"retired{seed}"),
    ]
    template = uuid4()
    spec = TemplateSpec(key=f"lead-{seed}", name="Leads", version=2, definition={"phases": []})
    templates: list[Payload] = [
        TemplateUpdated(template_id=template, spec=spec.model_copy(update={"version": 1})),
        TemplateUpdated(template_id=template, spec=spec),
        TemplatePublished(template_id=template, key=spec.key, version=2, spec=spec),
    ]
    return tools, agents, templates


def expected_lookup(seed: int) -> Lookup:
    return Lookup(
        tools={
            "web.search": ToolEntry(
                name="web.search",
                latest="2.0.0",
                deprecated=False,
                versions={
                    "1.0.0": ToolVersion("1.0.0", True, {"type": "object"}),
                    "2.0.0": ToolVersion("2.0.0", False, SCHEMA),
                },
            ),
            f"old.tool{seed}": ToolEntry(
                name=f"old.tool{seed}",
                latest="0.1.0",
                deprecated=True,
                versions={"0.1.0": ToolVersion("0.1.0", False, {"type": "object"})},
            ),
        },
        agents={
            "writer": AgentEntry("writer", 2, False, {1: False, 2: False}),
            f"retired{seed}": AgentEntry(f"retired{seed}", 1, True, {1: True}),
        },
    )


NONE: frozenset[str] = frozenset()


def refs(seed: int) -> Refs:
    return Refs(
        tools=frozenset({"web.search", f"old.tool{seed}", "never.heard"}),
        agents=frozenset({"writer", f"retired{seed}", "nobody"}),
        plans=frozenset(),
        models=frozenset(),
    )


@pytest.mark.parametrize("seed", [3, 2026])
async def test_catalog_lookup_ends_as_applied_once_in_order(service: Service, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    tenants = [uuid4(), uuid4()]
    sent: dict[str, list[Envelope[Any]]] = {}
    for n, tenant in enumerate(tenants):
        tools, agents, templates = catalog_of(n)
        for topic, payloads in (
            (CATALOG_TOOLS_V1, tools),
            (CATALOG_AGENTS_V1, agents),
            (CATALOG_TEMPLATES_V1, templates),
        ):
            sent.setdefault(topic, []).extend(timeline("catalog", tenant, payloads))
    for topic, events in sent.items():
        await send(service.kafka, topic, deliveries(rng, events))
    for group, topic in (
        ("planning.catalog-tools", CATALOG_TOOLS_V1),
        ("planning.catalog-agents", CATALOG_AGENTS_V1),
        ("planning.catalog-templates", CATALOG_TEMPLATES_V1),
    ):
        await applied(service, group, sent[topic])

    for n, tenant in enumerate(tenants):
        async with service.deps.runtime.uow(tenant) as uow:
            assert await uow.catalog.lookup(refs(n)) == expected_lookup(n)
            # the other tenant's deprecated tool and agent are not this tenant's
            other = await uow.catalog.lookup(refs(1 - n))
            assert f"old.tool{1 - n}" not in other.tools
            assert f"retired{1 - n}" not in other.agents
            [template] = await uow.catalog.published_templates()
            assert (template.key, template.version) == (f"lead-{n}", 2)


async def test_an_older_event_applied_late_changes_nothing(service: Service) -> None:
    tenant, tool = uuid4(), uuid4()
    spec = tool_spec("late.tool", "1.0.0")
    head = envelope(
        "catalog",
        ToolPublished(tool_id=tool, name="late.tool", version="1.0.0", spec=spec),
        tenant,
        at(5),
    )
    older = envelope("catalog", ToolDeprecated(tool_id=tool, name="late.tool"), tenant, at(1))
    await send(service.kafka, CATALOG_TOOLS_V1, [head, older])
    await applied(service, "planning.catalog-tools", [head, older])
    async with service.deps.runtime.uow(tenant) as uow:
        found = (
            await uow.catalog.lookup(Refs(frozenset({"late.tool"}), NONE, frozenset(), NONE))
        ).tools
    assert found["late.tool"].deprecated is False


@pytest.mark.parametrize("seed", [5, 77])
async def test_prices_runs_and_costs_end_as_applied_once(service: Service, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    tenant, other = uuid4(), uuid4()
    plan, schedule = uuid4(), uuid4()
    usd = "USD"
    models: list[Payload] = [
        ModelRegistered(
            provider_id=uuid4(),
            model="small",
            context_window=8000,
            input_price=Money(amount_micros=100, currency=usd),
            output_price=Money(amount_micros=400, currency=usd),
            tier="fast",
        ),
        ModelRegistered(
            provider_id=uuid4(),
            model="gone",
            context_window=8000,
            input_price=Money(amount_micros=1, currency=usd),
            output_price=Money(amount_micros=2, currency=usd),
            tier="fast",
        ),
        ModelRetired(provider_id=uuid4(), model="gone"),
    ]
    first, second, running = uuid4(), uuid4(), uuid4()

    def started(execution: UUID, schedule_id: UUID | None = None) -> ExecutionStarted:
        trigger = Trigger.SCHEDULE if schedule_id else Trigger.MANUAL
        return ExecutionStarted(
            execution_id=execution,
            plan_id=plan,
            plan_version=1,
            trigger=trigger,
            schedule_id=schedule_id,
            step_count=2,
        )

    def step(execution: UUID, key: str, micros: int) -> StepSucceeded:
        return StepSucceeded(
            execution_id=execution, step=key, attempt=1, duration_ms=1, usage=usage(micros)
        )

    runs: list[Payload] = [
        started(first),
        step(first, "draft", 300),
        step(first, "review", 200),
        # a map body's step: once per item, one cost per run
        step(first, "each[0]", 10),
        step(first, "each[1]", 20),
        ExecutionCompleted(execution_id=first, duration_ms=5, usage=usage(500)),
        started(second, schedule),
        step(second, "draft", 700),
        ExecutionFailed(
            execution_id=second,
            error=ErrorInfo(code="boom", message="no"),
            duration_ms=5,
            usage=usage(700),
        ),
        started(running, schedule),
    ]
    events = timeline("llm-gateway", tenant, models) + timeline("execution", tenant, runs)
    # another tenant's runs of the same plan id and schedule: never this tenant's
    foreign = timeline("execution", other, [started(uuid4(), schedule), started(uuid4())])
    model_events = [e for e in events if e.producer == "llm-gateway"]
    run_events = [e for e in events if e.producer == "execution"] + foreign
    await send(service.kafka, LLM_PROVIDERS_V1, deliveries(rng, model_events))
    await send(service.kafka, EXECUTION_EXECUTIONS_V1, deliveries(rng, run_events))
    await applied(service, "planning.models", model_events)
    await applied(service, "planning.executions", run_events)

    async with service.deps.runtime.uow(tenant) as uow:
        assert await uow.prices.of(frozenset()) == {"small": Price(100, 400, usd)}
        assert await uow.prices.of(frozenset({"gone", "small"})) == {"small": Price(100, 400, usd)}
        assert await uow.history.of(plan) == History(
            run_costs=[700, 500], step_costs={"draft": [700, 300], "review": [200], "each": [30]}
        )
        assert await uow.runs.open_for_schedule(schedule) == 1
    async with service.deps.runtime.uow(other) as uow:
        assert await uow.history.of(plan) == History(run_costs=[], step_costs={})
        assert await uow.runs.open_for_schedule(schedule) == 1


async def test_poison_events_are_dead_lettered_and_the_next_applied(service: Service) -> None:
    tenant, tool = uuid4(), uuid4()
    spec = tool_spec("fine.tool", "1.0.0")
    tenantless = envelope(
        "catalog", ToolPublished(tool_id=tool, name="fine.tool", version="9.9.9"), None, at(1)
    )
    forged = envelope(
        "catalog", ToolPublished(tool_id=uuid4(), name="fine.tool", version="8.8.8"), tenant, at(2)
    ).model_copy(update={"subject": tenantless.subject})
    good = envelope(
        "catalog",
        ToolPublished(tool_id=tool, name="fine.tool", version="1.0.0", spec=spec),
        tenant,
        at(3),
    )
    await send(service.kafka, CATALOG_TOOLS_V1, [tenantless, forged, good])
    for poison in (tenantless, forged):
        letter = await dead_letter(service, "planning.catalog-tools", poison.id)
        assert letter.reason == "invalid"
    await applied(service, "planning.catalog-tools", [good])
    async with service.deps.runtime.uow(tenant) as uow:
        found = (
            await uow.catalog.lookup(Refs(frozenset({"fine.tool"}), NONE, frozenset(), NONE))
        ).tools
    assert found["fine.tool"].latest == "1.0.0"
