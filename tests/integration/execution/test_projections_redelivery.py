"""Every projection event delivered 1-5 times (the same envelope again, or the fact re-sent
in a new envelope), the lot shuffled across keys and within them: the end state is the
one of each event applied once, in order."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.catalog import (
    AgentDeprecated,
    AgentUpdated,
    CatalogStatus,
    ToolDeprecated,
)
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.llm import ModelRetired
from agentsuite_contracts.planning import PlanApproved, PlanArchived
from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TOOLS_V1,
    LLM_PROVIDERS_V1,
    PLANNING_PLANS_V1,
)
from agentsuite_execution.domain.catalog import Price
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import (
    agent_created,
    agent_spec,
    envelope,
    model_registered,
    plan_approved,
    send,
    tool_published,
    tool_spec,
)
from tests.integration.kafka_helpers import eventually

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PAST = datetime.now(UTC) - timedelta(days=1)
FUTURE = datetime.now(UTC) + timedelta(days=30)


def timeline(tenant: UUID, payloads: Sequence[Payload]) -> list[Envelope[Any]]:
    """One aggregate's events, a second apart, in the order they happened."""
    return [
        envelope(p, tenant_id=tenant, occurred_at=T0 + timedelta(seconds=i))
        for i, p in enumerate(payloads)
    ]


def deliveries(rng: random.Random, events: Sequence[Envelope[Any]]) -> list[Envelope[Any]]:
    """Each event 1-5 times: redelivered as is (the inbox drops it) or re-sent by its
    producer in a new envelope (the handler itself must make it a no-op); all shuffled."""
    out: list[Envelope[Any]] = []
    for event in events:
        out.append(event)
        for _ in range(rng.randint(0, 4)):
            again = event if rng.random() < 0.5 else event.model_copy(update={"id": uuid4()})
            out.append(again)
    rng.shuffle(out)
    return out


async def deliver(
    execution: Execution, name: str, topic: str, rng: random.Random, events: list[Envelope[Any]]
) -> None:
    """Send the shuffled deliveries; return once every distinct envelope was applied.

    Read from the inbox, not from this app's consumer counts: another execution app of
    the session (the engine's) may own some of the group's partitions. Copies of an
    applied envelope id change nothing, whenever they come.
    """
    sent = deliveries(rng, events)
    await send(execution.kafka, topic, sent)
    ids = list({e.id for e in sent})

    async def all_applied() -> bool:
        rows = await execution.owner_sql(
            "SELECT count(*) FROM inbox WHERE consumer = :group AND event_id = ANY(:ids)",
            group=f"execution.{name}",
            ids=ids,
        )
        return bool(rows[0][0] == len(ids))

    await eventually(all_applied, within=60)


SEEDS = [7, 2026]


def shuffler(seed: int) -> random.Random:
    return random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets


@pytest.mark.parametrize("seed", SEEDS)
async def test_plans_end_as_applied_once_in_order(execution: Execution, seed: int) -> None:
    rng, tenant = shuffler(seed), uuid4()
    plans: list[list[PlanApproved | PlanArchived]] = []
    for archived in (False, False, True):
        v1 = plan_approved(tenant)
        versions = [plan_approved(tenant, plan_id=v1.plan_id, version=v) for v in (2, 3)]
        plans.append([v1, *versions] + ([PlanArchived(plan_id=v1.plan_id)] if archived else []))
    events = [e for payloads in plans for e in timeline(tenant, payloads)]
    await deliver(execution, "plans", PLANNING_PLANS_V1, rng, events)

    async with execution.deps.uow(tenant) as uow:
        for payloads in plans:
            first = payloads[0]
            assert isinstance(first, PlanApproved)
            latest = await uow.plans.approved(first.plan_id, None)
            if len(payloads) == 4:
                assert latest is None
                assert await uow.plans.archived(first.plan_id)
            else:
                assert latest is not None
                assert latest.version == 3
    rows = await execution.owner_sql(
        "SELECT count(*), count(DISTINCT plan_id), max(version) FROM plan_versions "
        "WHERE tenant_id = :t",
        t=tenant,
    )
    assert tuple(rows[0]) == (9, 3, 3)


@pytest.mark.parametrize("seed", SEEDS)
async def test_tools_end_as_applied_once_in_order(execution: Execution, seed: int) -> None:
    rng, tenant = shuffler(seed), uuid4()
    names = [f"t{i}.{uuid4().hex[:6]}" for i in range(4)]
    events: list[Envelope[Any]] = []
    for i, name in enumerate(names):
        v1, head1 = tool_published(tool_spec(name, "1.0.0"))
        v2, head2 = tool_published(tool_spec(name, "2.0.0"), tool_id=v1.tool_id)
        payloads: list[Payload] = [v1, head1, v2, head2]
        if i == 1:  # deprecated for good
            payloads.append(ToolDeprecated(tool_id=v1.tool_id, name=name, sunset_at=PAST))
        if i == 2:  # deprecated, still running until a future sunset
            payloads.append(ToolDeprecated(tool_id=v1.tool_id, name=name, sunset_at=FUTURE))
        if i == 3:  # deprecated, then published again
            payloads.insert(3, ToolDeprecated(tool_id=v1.tool_id, name=name, sunset_at=PAST))
        events += timeline(tenant, payloads)
    await deliver(execution, "tools", CATALOG_TOOLS_V1, rng, events)

    async with execution.deps.uow(tenant) as uow:
        heads = [await uow.tools.resolve(name, None) for name in names]
        pinned = [await uow.tools.resolve(name, "1.0.0") for name in names]
    assert [(h.version, h.deprecated) if h else None for h in heads] == [
        ("2.0.0", False),
        None,
        ("2.0.0", True),
        ("2.0.0", False),
    ]
    assert [p is not None for p in pinned] == [True, False, True, True]


@pytest.mark.parametrize("seed", SEEDS)
async def test_agents_end_as_applied_once_in_order(execution: Execution, seed: int) -> None:
    rng, tenant = shuffler(seed), uuid4()
    names = [f"a{i}-{uuid4().hex[:6]}" for i in range(3)]
    events: list[Envelope[Any]] = []
    for i, name in enumerate(names):
        r1 = agent_created(agent_spec(name, 1))
        payloads: list[Payload] = [
            r1,
            AgentUpdated(
                agent_id=r1.agent_id, spec=agent_spec(name, 2), status=CatalogStatus.PUBLISHED
            ),
            AgentUpdated(
                agent_id=r1.agent_id, spec=agent_spec(name, 3), status=CatalogStatus.DRAFT
            ),
        ]
        if i == 1:
            payloads.append(AgentDeprecated(agent_id=r1.agent_id, name=name))
        if i == 2:  # deprecated, then a revision published again
            payloads.append(AgentDeprecated(agent_id=r1.agent_id, name=name))
            payloads.append(
                AgentUpdated(
                    agent_id=r1.agent_id, spec=agent_spec(name, 4), status=CatalogStatus.PUBLISHED
                )
            )
        events += timeline(tenant, payloads)
    await deliver(execution, "agents", CATALOG_AGENTS_V1, rng, events)

    async with execution.deps.uow(tenant) as uow:
        newest = [await uow.agents.resolve(name, None) for name in names]
        statuses = [
            [(r.status if r else None) for r in [await uow.agents.resolve(n, v) for v in (1, 2, 3)]]
            for n in names
        ]
    assert [a.version if a else None for a in newest] == [2, None, 4]
    assert statuses == [
        ["published", "published", "draft"],
        ["deprecated"] * 3,
        ["deprecated"] * 3,
    ]


@pytest.mark.parametrize("seed", SEEDS)
async def test_model_prices_end_as_applied_once_in_order(execution: Execution, seed: int) -> None:
    rng, tenant, provider = shuffler(seed), uuid4(), uuid4()
    events: list[Envelope[Any]] = []
    for model, retired in (("m-low", False), ("m-high", True), ("m-mid", False)):
        dear = {"m-low": "1.00", "m-high": "90.00", "m-mid": "5.00"}[model]
        payloads: list[Payload] = [
            model_registered(model, "50.00", "99.00", provider_id=provider),
            model_registered(model, "0.50", dear, provider_id=provider),
        ]
        if retired:
            payloads.append(ModelRetired(provider_id=provider, model=model))
        events += timeline(tenant, payloads)
    await deliver(execution, "models", LLM_PROVIDERS_V1, rng, events)

    async with execution.deps.uow(tenant) as uow:
        prices = [await uow.models.price(m) for m in ("m-low", "m-high", "m-mid")]
        highest = await uow.models.highest()
    assert prices == [
        Price("m-low", 500_000, 1_000_000, "USD"),
        None,
        Price("m-mid", 500_000, 5_000_000, "USD"),
    ]
    assert highest == prices[2]
