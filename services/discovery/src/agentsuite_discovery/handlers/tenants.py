"""identity's tenant events: the tenant projection."""

from __future__ import annotations

from typing import Any

from agentsuite_contracts.envelope import Envelope
from agentsuite_discovery.deps import Deps
from agentsuite_discovery.domain.tenants import fact_of
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.errors import Invalid


async def tenant_changed(event: Envelope[Any], uow: DiscoveryUow, deps: Deps) -> None:
    """Record the status the event sets, unless a newer one is recorded already."""
    if event.tenant_id is None or event.tenant_id != event.payload.tenant_id:
        # identity emits a tenant's events in that tenant's name; this one contradicts itself
        raise Invalid(
            "tenant_mismatch",
            f"an event of tenant {event.payload.tenant_id} sent in another tenant's name",
            field="tenant_id",
        )
    fact = fact_of(event.payload, event.occurred_at)
    if fact is not None:
        await uow.tenants.apply(event.tenant_id, fact)
