"""Creating an item."""

from __future__ import annotations

from dataclasses import dataclass

from agentsuite_kit.errors import Conflict
from agentsuite_kit.tenants import may_write
from agentsuite_planning.deps import Deps
from agentsuite_planning.domain.items import Item, new_item
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True, slots=True)
class CreateItem:
    name: str


async def create_item(command: CreateItem, uow: PlanningUow, deps: Deps) -> Item:
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
