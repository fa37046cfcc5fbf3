"""What a service knows of a tenant: its status, as identity's events last told it, and
what each status allows. Written once for every service that projects identity.tenants.v1
(the table and its repository: `agentsuite_kit.db.tenants`).

A projection keeps the newest fact: an event older than the one applied changes nothing,
so events that arrive twice or out of order end in the same state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.identity import (
    TenantCreated,
    TenantDeleted,
    TenantReactivated,
    TenantStatus,
    TenantSuspended,
)

STATUS_AFTER: dict[type[Payload], TenantStatus] = {
    TenantCreated: TenantStatus.ACTIVE,
    TenantReactivated: TenantStatus.ACTIVE,
    TenantSuspended: TenantStatus.SUSPENDED,
    TenantDeleted: TenantStatus.DELETED,
}
"""The status each of identity's tenant events sets; its keys are the events a service
subscribes its projection to."""


@dataclass(frozen=True, slots=True)
class TenantFact:
    status: TenantStatus
    as_of: datetime


def fact_of(payload: Payload, occurred_at: datetime) -> TenantFact | None:
    """The status `payload` sets (None: an event that does not change it)."""
    status = STATUS_AFTER.get(type(payload))
    return None if status is None else TenantFact(status, occurred_at)


def may_write(status: TenantStatus | None) -> bool:
    """A tenant the service has not heard of yet may write: identity's events can lag."""
    return status in (None, TenantStatus.ACTIVE)


def readable(status: TenantStatus | None) -> bool:
    """A deleted tenant's data answers 404 to everything; a suspended one still reads."""
    return status is not TenantStatus.DELETED
