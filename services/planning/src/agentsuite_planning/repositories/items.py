"""Items: save one, read one (RLS confines both to the unit of work's tenant)."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import insert, select

from agentsuite_kit.db import Repository
from agentsuite_planning.domain.items import Item
from agentsuite_planning.repositories.tables import items

# built once, parameters per call: SQLAlchemy compiles each statement once
_ADD = insert(items)


class Items(Repository):
    async def add(self, item: Item) -> None:
        await self.session.execute(
            _ADD, {"id": item.id, "tenant_id": item.tenant_id, "name": item.name}
        )

    async def get(self, item_id: UUID) -> Item | None:
        """The item, or None (another tenant's is None too: RLS hides it)."""
        row = (
            await self.session.execute(
                select(items.c.id, items.c.tenant_id, items.c.name).where(items.c.id == item_id)
            )
        ).first()
        return None if row is None else Item(row.id, row.tenant_id, row.name)
