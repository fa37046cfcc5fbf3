"""Planning, catalog and llm-gateway events sent through the real broker end up in
execution's projections: approved plan versions, tool heads and deprecations, agent
revisions, model prices; drafts ignored; late events never take state back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID, uuid4

from agentsuite_contracts.catalog import (
    AgentDeprecated,
    AgentUpdated,
    CatalogStatus,
    ToolDeprecated,
    ToolRegistered,
)
from agentsuite_contracts.llm import ModelRetired
from agentsuite_contracts.planning import (
    PlanArchived,
    PlanDrafted,
    PlanSource,
    PlanUpdated,
    PlanValidated,
)
from agentsuite_contracts.topic_names import (
    CATALOG_AGENTS_V1,
    CATALOG_TOOLS_V1,
    LLM_PROVIDERS_V1,
    PLANNING_PLANS_V1,
)
from agentsuite_execution.domain.catalog import Price
from agentsuite_execution.uow import ExecutionUow
from tests.integration.execution.harness import Execution
from tests.integration.execution.publish import (
    agent_created,
    agent_spec,
    envelope,
    model_registered,
    noop_step,
    plan_approved,
    publish,
    send,
    tool_published,
    tool_spec,
)
from tests.integration.kafka_helpers import eventually

PLANS, TOOLS, AGENTS, MODELS = (
    PLANNING_PLANS_V1,
    CATALOG_TOOLS_V1,
    CATALOG_AGENTS_V1,
    LLM_PROVIDERS_V1,
)
T = TypeVar("T")
T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


async def read(
    execution: Execution, tenant: UUID, query: Callable[[ExecutionUow], Awaitable[T]]
) -> T:
    async with execution.deps.uow(tenant) as uow:
        return await query(uow)


async def until(
    execution: Execution, tenant: UUID, check: Callable[[ExecutionUow], Awaitable[bool]]
) -> None:
    async def done() -> bool:
        return await read(execution, tenant, check)

    await eventually(done, within=30)


# --- plans ---------------------------------------------------------------------------------


async def test_an_approved_plan_runs_at_its_latest_approved_version(execution: Execution) -> None:
    tenant = uuid4()
    v1 = plan_approved(tenant, [noop_step("a")], name="first")
    v2 = plan_approved(
        tenant, [noop_step("a"), noop_step("b", ["a"])], plan_id=v1.plan_id, version=2
    )
    await publish(execution.kafka, PLANS, v1, tenant_id=tenant, occurred_at=at(1))
    await publish(execution.kafka, PLANS, v2, tenant_id=tenant, occurred_at=at(2))

    async def at_v2(uow: ExecutionUow) -> bool:
        return await uow.plans.approved(v1.plan_id, None) == v2.plan

    await until(execution, tenant, at_v2)
    assert await read(execution, tenant, lambda u: u.plans.approved(v1.plan_id, 1)) == v1.plan
    assert await read(execution, tenant, lambda u: u.plans.approved(v1.plan_id, 3)) is None
    assert await read(execution, tenant, lambda u: u.plans.approved(uuid4(), None)) is None


async def test_a_late_approval_of_an_older_version_does_not_lower_the_latest(
    execution: Execution,
) -> None:
    tenant = uuid4()
    v1 = plan_approved(tenant)
    v2 = plan_approved(tenant, plan_id=v1.plan_id, version=2)
    # v2 arrives first (v1 went through a retry tier, say)
    await publish(execution.kafka, PLANS, v2, tenant_id=tenant, occurred_at=at(2))
    await publish(execution.kafka, PLANS, v1, tenant_id=tenant, occurred_at=at(1))

    async def both(uow: ExecutionUow) -> bool:
        return await uow.plans.approved(v1.plan_id, 1) is not None

    await until(execution, tenant, both)
    assert await read(execution, tenant, lambda u: u.plans.approved(v1.plan_id, None)) == v2.plan
    rows = await execution.owner_sql(
        "SELECT latest_approved FROM plans WHERE plan_id = :id", id=v1.plan_id
    )
    assert [r[0] for r in rows] == [2]


async def test_drafts_updates_and_validations_are_not_runnable(execution: Execution) -> None:
    tenant = uuid4()
    approved = plan_approved(tenant, plan_id=uuid4(), version=3, name="approved")
    draft = plan_approved(tenant, plan_id=approved.plan_id, version=1, name="draft").plan
    plan_id = approved.plan_id
    await send(
        execution.kafka,
        PLANS,
        [
            envelope(
                PlanDrafted(plan_id=plan_id, source=PlanSource(kind="manual"), plan=draft),
                tenant_id=tenant,
            ),
            envelope(
                PlanUpdated(
                    plan_id=plan_id, version=2, plan=draft.model_copy(update={"version": 2})
                ),
                tenant_id=tenant,
            ),
            envelope(PlanValidated(plan_id=plan_id, version=2, valid=True), tenant_id=tenant),
            # same key, so applied after the three above
            envelope(approved, tenant_id=tenant),
        ],
    )

    async def approved_seen(uow: ExecutionUow) -> bool:
        return await uow.plans.approved(plan_id, None) is not None

    await until(execution, tenant, approved_seen)
    rows = await execution.owner_sql(
        "SELECT version, name FROM plan_versions WHERE plan_id = :id", id=plan_id
    )
    assert [tuple(r) for r in rows] == [(3, "approved")]

    async def drafts(uow: ExecutionUow) -> list[object]:
        return [await uow.plans.approved(plan_id, v) for v in (1, 2)]

    assert await read(execution, tenant, drafts) == [None, None]


async def test_an_archived_plan_no_longer_runs_even_if_an_approval_comes_later(
    execution: Execution,
) -> None:
    tenant = uuid4()
    v1 = plan_approved(tenant)
    v2 = plan_approved(tenant, plan_id=v1.plan_id, version=2)
    await publish(execution.kafka, PLANS, v1, tenant_id=tenant, occurred_at=at(1))
    await publish(
        execution.kafka,
        PLANS,
        PlanArchived(plan_id=v1.plan_id),
        tenant_id=tenant,
        occurred_at=at(3),
    )
    await publish(execution.kafka, PLANS, v2, tenant_id=tenant, occurred_at=at(2))

    async def v2_stored(uow: ExecutionUow) -> bool:
        rows = await execution.owner_sql(
            "SELECT 1 FROM plan_versions WHERE plan_id = :id AND version = 2", id=v1.plan_id
        )
        return bool(rows)

    await until(execution, tenant, v2_stored)

    async def versions(uow: ExecutionUow) -> list[object]:
        return [await uow.plans.approved(v1.plan_id, v) for v in (None, 1, 2)]

    assert await read(execution, tenant, versions) == [None, None, None]
    assert await read(execution, tenant, lambda u: u.plans.archived(v1.plan_id))


async def test_a_tenant_never_sees_another_tenants_plan(execution: Execution) -> None:
    tenant, other = uuid4(), uuid4()
    approved = plan_approved(tenant)
    await publish(execution.kafka, PLANS, approved, tenant_id=tenant)

    async def seen(uow: ExecutionUow) -> bool:
        return await uow.plans.approved(approved.plan_id, None) is not None

    await until(execution, tenant, seen)
    assert await read(execution, other, lambda u: u.plans.approved(approved.plan_id, None)) is None


# --- tools ---------------------------------------------------------------------------------


async def test_a_tool_resolves_at_its_head_or_a_pinned_published_version(
    execution: Execution,
) -> None:
    tenant, name = uuid4(), f"web.search.{uuid4().hex[:8]}"
    v1, head1 = tool_published(tool_spec(name, "1.0.0"))
    v2, head2 = tool_published(tool_spec(name, "2.0.0"), tool_id=v1.tool_id)
    # a draft is never callable
    draft = ToolRegistered(tool_id=v1.tool_id, spec=tool_spec(name, "3.0.0"))
    await send(
        execution.kafka,
        TOOLS,
        [
            envelope(e, tenant_id=tenant, occurred_at=at(i))
            for i, e in enumerate([v1, head1, v2, draft])
        ],
    )

    async def pinned(uow: ExecutionUow) -> bool:
        return await uow.tools.resolve(name, "2.0.0") is not None

    await until(execution, tenant, pinned)
    head = await read(execution, tenant, lambda u: u.tools.resolve(name, None))
    assert head is not None
    assert (head.version, head.tool_version_id, head.spec) == ("1.0.0", v1.tool_version_id, v1.spec)
    assert (head.deprecated, head.sunset_at) == (False, None)
    assert await read(execution, tenant, lambda u: u.tools.resolve(name, "3.0.0")) is None

    await publish(execution.kafka, TOOLS, head2, tenant_id=tenant, occurred_at=at(5))

    async def moved(uow: ExecutionUow) -> bool:
        found = await uow.tools.resolve(name, None)
        return found is not None and found.version == "2.0.0"

    await until(execution, tenant, moved)
    # a late copy of the first publication does not move the head back
    await publish(execution.kafka, TOOLS, head1, tenant_id=tenant, occurred_at=at(1))
    marker, _ = tool_published(tool_spec(name, "0.0.1"), tool_id=v1.tool_id)
    await publish(execution.kafka, TOOLS, marker, tenant_id=tenant, occurred_at=at(6))

    async def marker_seen(uow: ExecutionUow) -> bool:
        return await uow.tools.resolve(name, "0.0.1") is not None

    await until(execution, tenant, marker_seen)
    found = await read(execution, tenant, lambda u: u.tools.resolve(name, None))
    assert found is not None
    assert found.version == "2.0.0"


async def test_a_deprecated_tool_resolves_until_its_sunset(execution: Execution) -> None:
    tenant = uuid4()
    soon, gone = f"soon.{uuid4().hex[:8]}", f"gone.{uuid4().hex[:8]}"
    now = datetime.now(UTC)
    events: list[Any] = []
    for name, sunset_at in ((soon, now + timedelta(days=1)), (gone, now - timedelta(seconds=1))):
        version, head = tool_published(tool_spec(name))
        events += [
            version,
            head,
            ToolDeprecated(tool_id=version.tool_id, name=name, sunset_at=sunset_at),
        ]
    await send(
        execution.kafka,
        TOOLS,
        [envelope(e, tenant_id=tenant, occurred_at=at(i)) for i, e in enumerate(events)],
    )

    async def deprecated(uow: ExecutionUow) -> bool:
        found = await uow.tools.resolve(soon, None)
        return found is not None and found.deprecated

    await until(execution, tenant, deprecated)

    async def sunset(uow: ExecutionUow) -> bool:
        return await uow.tools.resolve(gone, "1.0.0") is None

    await until(execution, tenant, sunset)
    assert await read(execution, tenant, lambda u: u.tools.resolve(gone, None)) is None
    pinned = await read(execution, tenant, lambda u: u.tools.resolve(soon, "1.0.0"))
    assert pinned is not None
    assert (pinned.deprecated, pinned.sunset_at is not None) == (True, True)


async def test_a_deprecation_applied_before_the_publication_still_holds(
    execution: Execution,
) -> None:
    tenant, name = uuid4(), f"early.{uuid4().hex[:8]}"
    version, head = tool_published(tool_spec(name))
    past = datetime.now(UTC) - timedelta(hours=1)
    deprecated = ToolDeprecated(tool_id=version.tool_id, name=name, sunset_at=past)
    await send(
        execution.kafka,
        TOOLS,
        [
            envelope(version, tenant_id=tenant, occurred_at=at(1)),
            envelope(deprecated, tenant_id=tenant, occurred_at=at(3)),
            envelope(head, tenant_id=tenant, occurred_at=at(2)),
        ],
    )

    async def headed(uow: ExecutionUow) -> bool:
        rows = await execution.owner_sql("SELECT version FROM tool_heads WHERE name = :n", n=name)
        return [r[0] for r in rows] == ["1.0.0"]

    await until(execution, tenant, headed)
    assert await read(execution, tenant, lambda u: u.tools.resolve(name, None)) is None


# --- agents --------------------------------------------------------------------------------


async def test_an_agent_resolves_at_its_newest_published_revision(execution: Execution) -> None:
    tenant, name = uuid4(), f"helper-{uuid4().hex[:8]}"
    r1 = agent_created(agent_spec(name, 1))
    r2 = AgentUpdated(
        agent_id=r1.agent_id, spec=agent_spec(name, 2), status=CatalogStatus.PUBLISHED
    )
    r3 = AgentUpdated(agent_id=r1.agent_id, spec=agent_spec(name, 3), status=CatalogStatus.DRAFT)
    await send(
        execution.kafka,
        AGENTS,
        [envelope(e, tenant_id=tenant, occurred_at=at(i)) for i, e in enumerate([r1, r2, r3])],
    )

    async def draft_seen(uow: ExecutionUow) -> bool:
        return await uow.agents.resolve(name, 3) is not None

    await until(execution, tenant, draft_seen)
    newest = await read(execution, tenant, lambda u: u.agents.resolve(name, None))
    assert newest is not None
    assert (newest.version, newest.status, newest.spec, newest.agent_id) == (
        2,
        "published",
        r2.spec,
        r1.agent_id,
    )
    pinned = await read(execution, tenant, lambda u: u.agents.resolve(name, 3))
    assert pinned is not None
    assert pinned.status == "draft"


async def test_a_deprecated_agent_has_no_published_revision_even_one_arriving_late(
    execution: Execution,
) -> None:
    tenant, name = uuid4(), f"old-{uuid4().hex[:8]}"
    r1 = agent_created(agent_spec(name, 1))
    r2 = AgentUpdated(
        agent_id=r1.agent_id, spec=agent_spec(name, 2), status=CatalogStatus.PUBLISHED
    )
    gone = AgentDeprecated(agent_id=r1.agent_id, name=name)
    await send(
        execution.kafka,
        AGENTS,
        [
            envelope(r1, tenant_id=tenant, occurred_at=at(1)),
            envelope(gone, tenant_id=tenant, occurred_at=at(3)),
            envelope(r2, tenant_id=tenant, occurred_at=at(2)),
        ],
    )

    async def late_seen(uow: ExecutionUow) -> bool:
        return await uow.agents.resolve(name, 2) is not None

    await until(execution, tenant, late_seen)
    assert await read(execution, tenant, lambda u: u.agents.resolve(name, None)) is None

    async def statuses(uow: ExecutionUow) -> list[str | None]:
        found = [await uow.agents.resolve(name, v) for v in (1, 2)]
        return [f.status if f else None for f in found]

    assert await read(execution, tenant, statuses) == ["deprecated", "deprecated"]
    # published again after the deprecation: usable again
    r3 = AgentUpdated(
        agent_id=r1.agent_id, spec=agent_spec(name, 3), status=CatalogStatus.PUBLISHED
    )
    await publish(execution.kafka, AGENTS, r3, tenant_id=tenant, occurred_at=at(4))

    async def republished(uow: ExecutionUow) -> bool:
        found = await uow.agents.resolve(name, None)
        return found is not None and found.version == 3

    await until(execution, tenant, republished)


# --- models --------------------------------------------------------------------------------


async def test_model_prices_follow_registrations_and_retirements(execution: Execution) -> None:
    tenant = uuid4()
    cheap = model_registered("cheap", "0.10", "0.40")
    dear = model_registered("dear", "5.00", "15.00", provider_id=cheap.provider_id)
    repriced = model_registered("cheap", "0.20", "0.80", provider_id=cheap.provider_id)
    await send(
        execution.kafka,
        MODELS,
        [
            envelope(e, tenant_id=tenant, occurred_at=at(i))
            for i, e in enumerate([cheap, dear, repriced])
        ],
    )

    async def repriced_seen(uow: ExecutionUow) -> bool:
        return await uow.models.price("cheap") == Price("cheap", 200_000, 800_000, "USD")

    await until(execution, tenant, repriced_seen)
    assert await read(execution, tenant, lambda u: u.models.highest()) == Price(
        "dear", 5_000_000, 15_000_000, "USD"
    )
    retired = ModelRetired(provider_id=cheap.provider_id, model="dear")
    await send(
        execution.kafka,
        MODELS,
        [
            envelope(retired, tenant_id=tenant, occurred_at=at(5)),
            # a late copy of the registration does not route the model again
            envelope(dear, tenant_id=tenant, occurred_at=at(1)),
            # same key, so applied after both above
            envelope(model_registered("marker", provider_id=cheap.provider_id), tenant_id=tenant),
        ],
    )

    async def marker_seen(uow: ExecutionUow) -> bool:
        return await uow.models.price("marker") is not None

    await until(execution, tenant, marker_seen)
    assert await read(execution, tenant, lambda u: u.models.price("dear")) is None
    cheapest = await read(execution, tenant, lambda u: u.models.highest())
    assert cheapest is not None
    assert cheapest.model == "marker"  # 2.00 > 0.80 per million: the dearest left
    assert await read(execution, uuid4(), lambda u: u.models.highest()) is None


async def test_an_unknown_model_has_no_price(execution: Execution) -> None:
    assert await read(execution, uuid4(), lambda u: u.models.price("nobody")) is None
