"""identity's tenant lifecycle through the real broker into execution (its own
`execution.tenants` subscription): a suspended tenant starts no new run until it is
reactivated; a deleted one starts none, and its sealed secrets are gone. Each event is
delivered 1-5 times (as is, or the fact again in a new envelope), shuffled within the
tenant's own stream; the end state is the one of each event applied once, in order."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.envelope import Envelope, Payload
from agentsuite_contracts.identity import (
    TenantCreated,
    TenantDeleted,
    TenantReactivated,
    TenantSuspended,
)
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from tests.integration.execution.harness import Execution, auth
from tests.integration.execution.publish import envelope, send
from tests.integration.execution.test_api import runnable, tool
from tests.integration.kafka_helpers import eventually

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def timeline(tenant: UUID, payloads: list[Payload], start: int = 0) -> list[Envelope[Any]]:
    return [
        envelope(
            p,
            tenant_id=tenant,
            producer="identity",
            occurred_at=T0 + timedelta(seconds=start + i),
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


async def start(ex: Execution, tenant: UUID, plan_id: UUID) -> tuple[int, dict[str, Any]]:
    reply = await ex.client.post(
        "/v1/executions", json={"plan_id": str(plan_id)}, headers=auth(tenant)
    )
    body: dict[str, Any] = reply.json()
    return reply.status_code, body


async def put_secret(ex: Execution, tenant: UUID, name: str) -> None:
    reply = await ex.client.put(
        f"/v1/secrets/{name}", json={"value": "sk-a-value"}, headers=auth(tenant)
    )
    assert reply.status_code in (200, 201), reply.text


async def secrets_of(ex: Execution, tenant: UUID) -> int:
    rows = await ex.owner_sql("SELECT count(*) FROM secrets WHERE tenant_id = :t", t=tenant)
    return int(rows[0][0])


async def test_a_suspended_tenant_starts_no_run_until_reactivated(engine: Execution) -> None:
    tenant = uuid4()
    plan = await runnable(engine, tenant, [tool("a")])
    await put_secret(engine, tenant, "crm")
    created = TenantCreated(tenant_id=tenant, slug=f"t-{tenant.hex[:8]}", name="t")
    suspended = TenantSuspended(tenant_id=tenant, reason="unpaid")
    await send(engine.kafka, IDENTITY_TENANTS_V1, timeline(tenant, [created, suspended]))

    async def refused() -> bool:
        status, _ = await start(engine, tenant, plan.plan_id)
        return status == 409

    await eventually(refused, within=60)
    status, body = await start(engine, tenant, plan.plan_id)
    assert (status, body["code"]) == (409, "tenant_inactive"), body
    # suspension freezes, it does not destroy: the tenant's secrets stay
    assert await secrets_of(engine, tenant) == 1

    await send(
        engine.kafka,
        IDENTITY_TENANTS_V1,
        timeline(tenant, [TenantReactivated(tenant_id=tenant)], start=2),
    )

    async def allowed() -> bool:
        status, _ = await start(engine, tenant, plan.plan_id)
        return status == 201

    await eventually(allowed, within=60)


@pytest.mark.parametrize("seed", [7, 2026])
async def test_a_deleted_tenant_loses_its_secrets_and_starts_no_run(
    engine: Execution, seed: int
) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    tenant, other = uuid4(), uuid4()
    plan = await runnable(engine, tenant, [tool("a")])
    for name in ("crm", "billing", "mail"):
        await put_secret(engine, tenant, name)
    await put_secret(engine, other, "crm")
    events = timeline(
        tenant,
        [
            TenantCreated(tenant_id=tenant, slug=f"t-{tenant.hex[:8]}", name="t"),
            TenantSuspended(tenant_id=tenant, reason="closing"),
            TenantDeleted(tenant_id=tenant),
        ],
    )
    sent = deliveries(rng, events)
    await send(engine.kafka, IDENTITY_TENANTS_V1, sent)
    ids = list({e.id for e in sent})

    async def all_applied() -> bool:
        rows = await engine.owner_sql(
            "SELECT count(*) FROM inbox WHERE consumer = :group AND event_id = ANY(:ids)",
            group="execution.tenants",
            ids=ids,
        )
        return bool(rows[0][0] == len(ids))

    await eventually(all_applied, within=60)
    assert await secrets_of(engine, tenant) == 0
    assert await secrets_of(engine, other) == 1  # another tenant's are untouched
    gone = await engine.client.get("/v1/secrets/crm", headers=auth(tenant))
    assert gone.status_code == 404, gone.text
    status, body = await start(engine, tenant, plan.plan_id)
    assert (status, body["code"]) == (409, "tenant_inactive"), body
    # nor does a deleted tenant store a secret again
    again = await engine.client.put(
        "/v1/secrets/crm", json={"value": "sk-a-value"}, headers=auth(tenant)
    )
    assert (again.status_code, again.json()["code"]) == (409, "tenant_deleted"), again.text
    assert await secrets_of(engine, tenant) == 0
