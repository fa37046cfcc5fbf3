"""identity's tenant lifecycle through the real broker into catalog: a suspended tenant
reads but does not write until reactivated; a deleted one answers 404 to everything, and
each of its published tool versions, agents and templates is deprecated with its event
(once, however often the deletion is delivered), in bounded batches."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_catalog.handlers.tenants import retire
from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.identity import (
    TenantCreated,
    TenantDeleted,
    TenantReactivated,
    TenantStatus,
    TenantSuspended,
)
from agentsuite_contracts.registry import subject_of
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from agentsuite_kit.tenants import TenantFact
from tests.integration.catalog.harness import Service, auth, send
from tests.integration.catalog.test_agents import agent_body
from tests.integration.catalog.test_templates import template
from tests.integration.catalog.tools_support import (
    published,
    register,
    tool_body,
    version_body,
)
from tests.integration.kafka_helpers import eventually

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def timeline(tenant: UUID, payloads: list[Payload], start: int = 0) -> list[Envelope[Any]]:
    return [
        Envelope[Any](
            producer="identity",
            tenant_id=tenant,
            subject=subject_of(p),
            correlation_id=uuid4(),
            occurred_at=T0 + timedelta(seconds=start + i),
            payload=p,
        )
        for i, p in enumerate(payloads)
    ]


def deliveries(rng: random.Random, events: list[Envelope[Any]]) -> list[Envelope[Any]]:
    out: list[Envelope[Any]] = []
    for event in events:
        out.append(event)
        for _ in range(rng.randint(0, 4)):
            again = event if rng.random() < 0.5 else event.model_copy(update={"id": uuid4()})
            out.append(again)
    rng.shuffle(out)
    return out


async def create_tool(service: Service, tenant: UUID) -> int:
    body = tool_body(f"w{uuid4().hex[:8]}")
    made = await service.client.post("/v1/tools", json=body, headers=auth(tenant))
    return made.status_code


async def test_a_suspended_tenant_reads_and_writes_again_once_reactivated(
    service: Service,
) -> None:
    tenant = uuid4()
    tool = await published(service, tenant, "kept")
    created = TenantCreated(tenant_id=tenant, slug=f"t-{tenant.hex[:8]}", name="t")
    suspended = TenantSuspended(tenant_id=tenant, reason="unpaid")
    await send(service.kafka, IDENTITY_TENANTS_V1, timeline(tenant, [created, suspended]))

    async def refused() -> bool:
        return await create_tool(service, tenant) == 409

    await eventually(refused, within=60)
    read = await service.client.get(f"/v1/tools/{tool['tool_id']}", headers=auth(tenant))
    assert read.status_code == 200, read.text

    reactivated = TenantReactivated(tenant_id=tenant)
    await send(service.kafka, IDENTITY_TENANTS_V1, timeline(tenant, [reactivated], start=2))

    async def allowed() -> bool:
        return await create_tool(service, tenant) == 201

    await eventually(allowed, within=60)


async def outbox_types(service: Service, tenant: UUID) -> dict[str, int]:
    rows = await service.owner_sql(
        "SELECT type, count(*) FROM outbox WHERE tenant_id = :t GROUP BY type", t=tenant
    )
    return {row[0]: int(row[1]) for row in rows}


async def populate(service: Service, tenant: UUID) -> dict[str, Any]:
    """Three published tools (one with two published versions), a draft one, a published
    agent, a published template."""
    tools = [await published(service, tenant, f"t{i}") for i in range(3)]
    base = f"/v1/tools/{tools[0]['tool_id']}/versions"
    more = await service.client.post(base, json=version_body("1.1.0"), headers=auth(tenant))
    assert more.status_code == 201, more.text
    done = await service.client.post(f"{base}/1.1.0/publish", headers=auth(tenant))
    assert done.status_code == 200, done.text
    draft = await register(service, tenant, "draft")
    pins = [{"name": tools[1]["name"], "version": tools[1]["version"]}]
    agent = await service.client.post(
        "/v1/agents", json=agent_body("helper", pins), headers=auth(tenant)
    )
    assert agent.status_code == 201, agent.text
    agent_id = agent.json()["agent_id"]
    live = await service.client.post(
        f"/v1/agents/{agent_id}/revisions/1/publish", headers=auth(tenant)
    )
    assert live.status_code == 200, live.text
    plan = await template(service, tenant, "leads")
    shown = await service.client.post(f"/v1/templates/{plan['id']}/publish", headers=auth(tenant))
    assert shown.status_code == 200, shown.text
    return {"tools": tools, "draft": draft, "agent": agent_id, "template": plan["id"]}


@pytest.mark.parametrize("seed", [7, 2026])
async def test_a_deleted_tenant_is_gone_and_everything_it_published_deprecated(
    service: Service, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    tenant = uuid4()
    made = await populate(service, tenant)
    tool_id = made["tools"][0]["tool_id"]
    events = timeline(
        tenant,
        [
            TenantCreated(tenant_id=tenant, slug=f"t-{tenant.hex[:8]}", name="t"),
            TenantSuspended(tenant_id=tenant, reason="closing"),
            TenantDeleted(tenant_id=tenant),
        ],
    )
    await send(service.kafka, IDENTITY_TENANTS_V1, deliveries(rng, events))

    async def gone() -> bool:
        read = await service.client.get(f"/v1/tools/{tool_id}", headers=auth(tenant))
        return read.status_code == 404

    await eventually(gone, within=60)
    for path in ("/v1/tools", f"/v1/agents/{made['agent']}", "/v1/search?q=t"):
        read = await service.client.get(path, headers=auth(tenant))
        assert (read.status_code, read.json()["code"]) == (404, "tenant_deleted"), path
    assert await create_tool(service, tenant) == 404

    async def retired() -> bool:
        rows = await service.owner_sql(
            "SELECT (SELECT count(*) FROM tool_versions WHERE tenant_id = :t"
            "   AND status = 'published')"
            " + (SELECT count(*) FROM agents WHERE tenant_id = :t AND deprecated_at IS NULL)"
            " + (SELECT count(*) FROM templates WHERE tenant_id = :t AND NOT deprecated)",
            t=tenant,
        )
        return int(rows[0][0]) == 0

    await eventually(retired, within=60)
    # redelivered once more, after the work is done: nothing more happens
    again = timeline(tenant, [TenantDeleted(tenant_id=tenant)], start=2)
    await send(service.kafka, IDENTITY_TENANTS_V1, again)

    async def applied() -> bool:
        rows = await service.owner_sql(
            "SELECT count(*) FROM inbox WHERE consumer = 'catalog.tenants' AND event_id = :e",
            e=again[0].id,
        )
        return bool(rows[0][0] == 1)

    await eventually(applied, within=60)
    await eventually(retired, within=60)
    sent = await outbox_types(service, tenant)
    # each published version once (4), each tool once, the agent, the template
    assert sent["catalog.tool_version.deprecated"] == 4, sent
    assert sent["catalog.tool.deprecated"] == 3, sent
    assert sent["catalog.agent.deprecated"] == 1, sent
    assert sent["catalog.template.deprecated"] == 1, sent
    # the head moved back to no version: no new tool.published was sent on its way out
    assert sent["catalog.tool.published"] == 4, sent
    draft = await service.owner_sql(
        "SELECT status FROM tool_versions WHERE tool_id = :t", t=made["draft"]["tool_id"]
    )
    assert [r[0] for r in draft] == ["draft"]  # a draft was never offered: left as it is


async def test_a_deleted_tenant_is_retired_in_bounded_batches(service: Service) -> None:
    """One batch deprecates at most `batch` tools and leaves the rest to the next job."""
    tenant = uuid4()
    for i in range(5):
        await published(service, tenant, f"b{i}")
    async with service.deps.runtime.uow(tenant) as uow:
        await uow.tenants.apply(tenant, TenantFact(TenantStatus.DELETED, datetime.now(UTC)))
        more = await retire(uow, batch=2)
        left = await uow.tenants.published_tools(tenant, 10)
        await uow.commit()
    assert (more, len(left)) == (True, 3)

    async def finished() -> bool:
        rows = await service.owner_sql(
            "SELECT count(*) FROM tool_versions WHERE tenant_id = :t AND status = 'published'",
            t=tenant,
        )
        return int(rows[0][0]) == 0

    # the next batches run as the job the first one scheduled
    await eventually(finished, within=60)
