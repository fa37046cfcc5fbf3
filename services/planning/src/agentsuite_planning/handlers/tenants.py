"""identity's tenant events: the tenant projection."""

from __future__ import annotations

from typing import Any

from agentsuite_contracts.envelope import Envelope
from agentsuite_kit.messaging.consistency import check_envelope
from agentsuite_kit.tenants import fact_of
from agentsuite_planning.deps import Deps
from agentsuite_planning.uow import PlanningUow


async def tenant_changed(event: Envelope[Any], uow: PlanningUow, deps: Deps) -> None:
    """Record the status the event sets, unless a newer one is recorded already."""
    # identity emits a tenant's events in that tenant's name, about that tenant: one that
    # contradicts itself is dead-lettered
    check_envelope(event)
    fact = fact_of(event.payload, event.occurred_at)
    if fact is not None:
        await uow.tenants.apply(event.payload.tenant_id, fact)
