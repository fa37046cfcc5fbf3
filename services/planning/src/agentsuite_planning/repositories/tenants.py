"""The tenant projection: the kit's, over planning's table."""

from __future__ import annotations

from agentsuite_kit.db.tenants import TenantStates
from agentsuite_planning.repositories.tables import tenant_states


class Tenants(TenantStates, table=tenant_states):
    """identity's word on each tenant (`handlers.tenants` keeps it)."""
