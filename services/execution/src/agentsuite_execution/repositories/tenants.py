"""The tenant projection: the kit's, over execution's table (RLS-scoped: a unit of work
reads its own tenant's row, `status()`)."""

from __future__ import annotations

from agentsuite_execution.repositories.tables import tenant_states
from agentsuite_kit.db.tenants import TenantStates


class Tenants(TenantStates, table=tenant_states):
    """identity's word on each tenant (`handlers.tenants` keeps it)."""
