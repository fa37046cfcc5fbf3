"""What discovery knows of a tenant: its status, as identity's events last told it.

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


@dataclass(frozen=True, slots=True)
class TenantFact:
    status: TenantStatus
    as_of: datetime


def fact_of(payload: Payload, occurred_at: datetime) -> TenantFact | None:
    """The status `payload` sets (None: an event that does not change it)."""
    status = STATUS_AFTER.get(type(payload))
    return None if status is None else TenantFact(status, occurred_at)


def may_write(status: TenantStatus | None) -> bool:
    """A tenant discovery has not heard of yet may write: identity's events can lag."""
    return status in (None, TenantStatus.ACTIVE)
