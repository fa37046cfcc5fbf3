"""Every event planning consumes, delivered 1-5 times (the same envelope again, or the fact
re-sent in a new envelope) and shuffled across keys and within them, through the real
broker: the end state is the one of each event applied once, in order."""

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
    TenantStatus,
    TenantSuspended,
    TenantUpdated,
)
from agentsuite_contracts.registry import subject_of
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from agentsuite_kit.tenants import STATUS_AFTER
from tests.integration.kafka_helpers import eventually
from tests.integration.planning.harness import Service, send
from tests.integration.planning.redelivery_support import deliveries

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def timeline(tenant: UUID, payloads: list[Payload]) -> list[Envelope[Any]]:
    """One tenant's events as identity sends them, a second apart, in order."""
    return [
        Envelope[Any](
            producer="identity",
            tenant_id=tenant,
            subject=subject_of(p),
            correlation_id=uuid4(),
            occurred_at=T0 + timedelta(seconds=i),
            payload=p,
        )
        for i, p in enumerate(payloads)
    ]


@pytest.mark.parametrize("seed", [7, 2026])
async def test_tenant_states_end_as_applied_once_in_order(service: Service, seed: int) -> None:
    rng = random.Random(seed)  # noqa: S311 - reproducible delivery orders, not secrets
    expected: dict[UUID, TenantStatus] = {}
    events: list[Envelope[Any]] = []
    for last in (TenantStatus.ACTIVE, TenantStatus.SUSPENDED, TenantStatus.DELETED):
        tenant = uuid4()
        payloads: list[Payload] = [
            TenantCreated(tenant_id=tenant, slug=f"t-{tenant.hex[:8]}", name="t"),
            TenantSuspended(tenant_id=tenant, reason="a test"),
            TenantReactivated(tenant_id=tenant),
            TenantUpdated(tenant_id=tenant, slug=f"t-{tenant.hex[:8]}", name="u", tier="x"),
        ]
        if last is TenantStatus.SUSPENDED:
            payloads.append(TenantSuspended(tenant_id=tenant, reason="again"))
        if last is TenantStatus.DELETED:
            payloads.append(TenantDeleted(tenant_id=tenant))
        expected[tenant] = last
        events += timeline(tenant, payloads)
    sent = deliveries(rng, events)
    await send(service.kafka, IDENTITY_TENANTS_V1, sent)
    # a type the consumer has no handler for (TenantUpdated) is skipped, never in the inbox
    ids = list({e.id for e in sent if type(e.payload) in STATUS_AFTER})

    async def all_applied() -> bool:
        rows = await service.owner_sql(
            "SELECT count(*) FROM inbox WHERE consumer = :group AND event_id = ANY(:ids)",
            group="planning.tenants",
            ids=ids,
        )
        return bool(rows[0][0] == len(ids))

    await eventually(all_applied, within=60)
    for tenant, status in expected.items():
        async with service.deps.runtime.uow(tenant) as uow:
            assert await uow.tenants.status(tenant) == status
