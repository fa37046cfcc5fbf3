"""What execution knows of a tenant: its status, as identity's events last told it.

The newest fact wins (an older one arriving late changes nothing), so redelivered or
reordered events end in the same state. Only an active tenant, or one execution has not
heard of yet (identity's events can lag), starts new runs.
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


def may_start(status: TenantStatus | None, *, within_a_run: bool) -> bool:
    """Whether a run may start. A suspended tenant's running runs finish, subplans they
    start included; a deleted tenant's start nothing more."""
    if within_a_run and status is TenantStatus.SUSPENDED:
        return True
    return status in (None, TenantStatus.ACTIVE)
