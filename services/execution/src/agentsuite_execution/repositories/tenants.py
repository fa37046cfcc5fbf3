"""The tenant projection: the newest status identity told, applied once per fact."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from agentsuite_contracts.identity import TenantStatus
from agentsuite_execution.domain.tenants import TenantFact
from agentsuite_execution.repositories.catalog import tenant_of
from agentsuite_execution.repositories.tables import tenant_states
from agentsuite_kit.db.repository import Repository

_INSERT = insert(tenant_states)
# an older fact arriving late changes nothing: the row keeps the newest
_APPLY = _INSERT.on_conflict_do_update(
    index_elements=[tenant_states.c.tenant_id],
    set_={"status": _INSERT.excluded.status, "as_of": _INSERT.excluded.as_of},
    where=tenant_states.c.as_of < _INSERT.excluded.as_of,
)


class Tenants(Repository):
    async def apply(self, fact: TenantFact) -> None:
        values = {"tenant_id": tenant_of(self), "status": fact.status.value, "as_of": fact.as_of}
        await self.session.execute(_APPLY, values)

    async def status(self) -> TenantStatus | None:
        """What identity last said of the unit of work's tenant (None: nothing yet)."""
        query = select(tenant_states.c.status).where(tenant_states.c.tenant_id == tenant_of(self))
        found = await self.session.scalar(query)
        return None if found is None else TenantStatus(found)
