"""The tenant projection: the newest status identity told, applied once per fact."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from agentsuite_contracts.identity import TenantStatus
from agentsuite_discovery.domain.tenants import TenantFact
from agentsuite_discovery.repositories.tables import tenant_states
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
