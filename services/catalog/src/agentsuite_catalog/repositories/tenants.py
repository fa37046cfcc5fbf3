"""The tenant projection: the newest status identity told, applied once per fact."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from agentsuite_catalog.domain.tenants import TenantFact
from agentsuite_catalog.repositories.tables import (
    agents,
    templates,
    tenant_states,
    tool_versions,
)
from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.db import Repository

_INSERT = insert(tenant_states)
# an older fact arriving late changes nothing: the row keeps the newest
_APPLY = _INSERT.on_conflict_do_update(
    index_elements=[tenant_states.c.tenant_id],
    set_={"status": _INSERT.excluded.status, "as_of": _INSERT.excluded.as_of},
    where=tenant_states.c.as_of < _INSERT.excluded.as_of,
)


class Tenants(Repository):
    async def apply(self, tenant_id: UUID, fact: TenantFact) -> None:
        await self.session.execute(
            _APPLY, {"tenant_id": tenant_id, "status": fact.status.value, "as_of": fact.as_of}
        )

    async def status(self, tenant_id: UUID) -> TenantStatus | None:
        """What identity last said of the tenant (None: nothing yet)."""
        found = await self.session.scalar(
            select(tenant_states.c.status).where(tenant_states.c.tenant_id == tenant_id)
        )
        return None if found is None else TenantStatus(found)

    # --- a deleted tenant's retirement, one bounded batch at a time ---------------------

    async def hold_retirement(self, tenant_id: UUID) -> None:
        """Serialize the tenant's retirement batches (two jobs of it may run at once, on
        two replicas): the second waits, then reads what the first left."""
        key = f"catalog.retire:{tenant_id}"
        await self.session.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))

    async def published_tools(self, tenant_id: UUID, limit: int) -> list[UUID]:
        """Up to `limit` of the unit of work's tenant's tools with a published version."""
        query = (
            select(tool_versions.c.tool_id)
            .where(tool_versions.c.tenant_id == tenant_id)
            .where(tool_versions.c.status == CatalogStatus.PUBLISHED.value)
            .group_by(tool_versions.c.tool_id)
            .order_by(tool_versions.c.tool_id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def live_agents(self, tenant_id: UUID, limit: int) -> list[UUID]:
        """Up to `limit` agents not deprecated yet."""
        query = (
            select(agents.c.id)
            .where(agents.c.tenant_id == tenant_id, agents.c.deprecated_at.is_(None))
            .order_by(agents.c.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))

    async def live_templates(self, tenant_id: UUID, limit: int) -> list[UUID]:
        """Up to `limit` templates not deprecated yet."""
        query = (
            select(templates.c.id)
            .where(templates.c.tenant_id == tenant_id, templates.c.deprecated.is_(False))
            .order_by(templates.c.id)
            .limit(limit)
        )
        return list(await self.session.scalars(query))
