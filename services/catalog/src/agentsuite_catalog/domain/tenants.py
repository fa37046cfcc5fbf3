"""What catalog knows of a tenant: its status, as identity's events last told it.

A projection keeps the newest fact: an event older than the one applied changes nothing,
so events that arrive twice or out of order end in the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from agentsuite_catalog.domain.tools import PUBLISHED, Tool, ToolVersion
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
    """A tenant catalog has not heard of yet may write: identity's events can lag."""
    return status in (None, TenantStatus.ACTIVE)


def readable(status: TenantStatus | None) -> bool:
    """A deleted tenant's catalog answers 404 to everything: what it published is being
    deprecated (`handlers.tenants.retire`) and nothing of it is offered any more. A
    suspended one still reads."""
    return status is not TenantStatus.DELETED


def retirement_order(tool: Tool, versions: Sequence[ToolVersion]) -> list[ToolVersion]:
    """The tool's published versions, the head last: deprecating the others first never
    moves the head, so the way out sends no `tool.published` for an older version."""
    live = [v for v in versions if v.status == PUBLISHED]
    return sorted(live, key=lambda v: v.version == tool.head)
