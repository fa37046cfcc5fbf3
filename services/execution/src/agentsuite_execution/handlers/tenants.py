"""identity's tenant events: the tenant projection, and what a deleted tenant leaves.

A suspended tenant keeps everything: it starts no run (`runs.start`) until reactivated;
runs already going finish. A deleted tenant's secrets are deleted with the event's
transaction (its sealed values gone with their rows), so no later call can open them;
every redelivery deletes nothing more.
"""

from __future__ import annotations

import logging
from typing import Any

from agentsuite_contracts.envelope import Envelope
from agentsuite_contracts.identity import TenantStatus
from agentsuite_contracts.topic_names import IDENTITY_TENANTS_V1
from agentsuite_execution.deps import Deps
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.runtime import ConsumerSpec
from agentsuite_kit.tenants import STATUS_AFTER, fact_of

log = logging.getLogger(__name__)


async def tenant_changed(event: Envelope[Any], uow: ExecutionUow) -> None:
    """Record the status the event sets, unless a newer one is recorded already. An event
    sent in another tenant's name than its payload's never gets here (`consistency`)."""
    fact = fact_of(event.payload, event.occurred_at)
    if fact is None:
        return
    await uow.tenants.apply(event.payload.tenant_id, fact)
    if fact.status is TenantStatus.DELETED:
        # deletion is final at identity: whatever came before, the secrets go
        gone = await uow.secrets.delete_tenant()
        if gone:
            log.info("tenant %s deleted: %d secrets deleted", event.tenant_id, gone)


def tenant_consumers(deps: Deps) -> list[ConsumerSpec[ExecutionUow]]:
    """The subscription to identity's tenants; `deps` for the shape of `consumers`."""
    del deps  # the projection needs nothing beyond the unit of work
    return [
        ConsumerSpec[ExecutionUow](
            name="tenants",
            topic=IDENTITY_TENANTS_V1,
            handlers=dict.fromkeys(STATUS_AFTER, tenant_changed),
        )
    ]
