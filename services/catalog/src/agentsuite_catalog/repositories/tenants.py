"""The tenant projection (the kit's), and the queries of a deleted tenant's retirement."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select

from agentsuite_catalog.repositories.tables import agents, templates, tenant_states, tool_versions
from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_kit.db.tenants import TenantStates


class Tenants(TenantStates, table=tenant_states):
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
