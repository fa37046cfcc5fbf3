"""The tenant projection: the kit's, over discovery's table."""

from __future__ import annotations

from agentsuite_discovery.repositories.tables import tenant_states
from agentsuite_kit.db.tenants import TenantStates


class Tenants(TenantStates, table=tenant_states):
    """identity's word on each tenant (`handlers.tenants` keeps it)."""
