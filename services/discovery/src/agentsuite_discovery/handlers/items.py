"""Creating an item."""

from __future__ import annotations

from dataclasses import dataclass

from agentsuite_discovery.deps import Deps
from agentsuite_discovery.domain.items import Item, new_item
from agentsuite_discovery.domain.tenants import may_write
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.errors import Conflict


@dataclass(frozen=True, slots=True)
class CreateItem:
    name: str


async def create_item(command: CreateItem, uow: DiscoveryUow, deps: Deps) -> Item:
    """Save a new item of the unit of work's tenant. An event others may care about is a
    contract in `contracts/`; once it exists it is emitted here (`uow.emit(...)`) and goes
    out with this transaction's commit."""
    tenant_id = uow.tenant_id
    assert tenant_id is not None  # the edge hands a tenant's unit of work only
    if not may_write(await uow.tenants.status(tenant_id)):
        raise Conflict("tenant_inactive", "the tenant is suspended or deleted")
    item = new_item(tenant_id, command.name)
    await uow.items.add(item)
    return item
