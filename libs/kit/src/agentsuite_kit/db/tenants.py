"""The tenant projection's table and repository (`agentsuite_kit.tenants` for its rules):
one `tenant_states` row per tenant, the newest status identity told, applied once per fact.

A service declares the table in its own metadata (`tenant_states_table`) so its
migrations and drift check see it, and its repository subclasses `TenantStates` naming
that table; what a service adds (catalog's retirement queries) goes in the subclass.
"""

from __future__ import annotations

from typing import Any, ClassVar
from uuid import UUID

from sqlalchemy import Column, DateTime, Insert, MetaData, String, Table, select
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert

from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.db.repository import Repository
from agentsuite_kit.tenants import TenantFact


def tenant_states_table(metadata: MetaData) -> Table:
    """identity's word on each tenant: one row per tenant, the newest fact."""
    return Table(
        "tenant_states",
        metadata,
        Column("tenant_id", PgUUID(as_uuid=True), primary_key=True),
        Column("status", String(16), nullable=False),
        Column("as_of", DateTime(timezone=True), nullable=False),
    )


def _newest_wins(table: Table) -> Insert:
    new = insert(table)
    # an older fact arriving late changes nothing: the row keeps the newest
    return new.on_conflict_do_update(
        index_elements=[table.c.tenant_id],
        set_={"status": new.excluded.status, "as_of": new.excluded.as_of},
        where=table.c.as_of < new.excluded.as_of,
    )


class TenantStates(Repository):
    """The projection over one service's table: `class Tenants(TenantStates,
    table=tenant_states)`."""

    _table: ClassVar[Table]
    _apply: ClassVar[Insert]

    def __init_subclass__(cls, *, table: Table, **kwargs: Any) -> None:
        # the statement is built once per class, not per unit of work
        super().__init_subclass__(**kwargs)
        cls._table, cls._apply = table, _newest_wins(table)

    async def apply(self, tenant_id: UUID, fact: TenantFact) -> None:
        values = {"tenant_id": tenant_id, "status": fact.status.value, "as_of": fact.as_of}
        await self.session.execute(self._apply, values)

    async def status(self, tenant_id: UUID | None = None) -> TenantStatus | None:
        """What identity last said of the tenant (None: nothing yet); without `tenant_id`,
        of the unit of work's tenant."""
        table = self._table
        tenant = self._own_tenant() if tenant_id is None else tenant_id
        found = await self.session.scalar(select(table.c.status).where(table.c.tenant_id == tenant))
        return None if found is None else TenantStatus(found)

    def _own_tenant(self) -> UUID:
        tenant: UUID | None = self.session.info["tenant"]
        if tenant is None:
            raise ValueError("an all-tenants unit of work: name the tenant whose status to read")
        return tenant
