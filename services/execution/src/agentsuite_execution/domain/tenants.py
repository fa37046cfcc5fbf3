"""When execution starts a run, given what identity last told of the tenant (the kit's
projection, `agentsuite_kit.tenants`): only an active tenant, or one execution has not
heard of yet (identity's events can lag), starts new runs.
"""

from __future__ import annotations

from agentsuite_contracts.identity import TenantStatus
from agentsuite_kit.tenants import may_write


def may_start(status: TenantStatus | None, *, within_a_run: bool) -> bool:
    """Whether a run may start. A suspended tenant's running runs finish, subplans they
    start included; a deleted tenant's start nothing more."""
    if within_a_run and status is TenantStatus.SUSPENDED:
        return True
    return may_write(status)
