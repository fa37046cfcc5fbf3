"""What every command handler checks first, and the clock they share."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from uuid import UUID

from agentsuite_catalog.domain.tenants import may_write
from agentsuite_catalog.uow import CatalogUow
from agentsuite_contracts.envelope import Payload
from agentsuite_kit.errors import Conflict


async def writable(uow: CatalogUow) -> UUID:
    """The unit of work's tenant, if it may write (not suspended or deleted)."""
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # the edge hands a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant_id)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    return tenant_id


def now() -> datetime:
    return datetime.now(UTC)


def emit(uow: CatalogUow, events: Sequence[Payload]) -> None:
    """Queue what a transition recorded, in order, for the outbox."""
    for event in events:
        uow.emit(event)
