"""Authorization at run time: per-tenant snapshot cache, capabilities of a principal."""

from __future__ import annotations

from uuid import UUID

from agentsuite_identity.domain.capabilities import SYSTEM_ROLES
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.uow import IdentityUow

_MEMBER = "member:"


class Access:
    def __init__(self, settings: IdentitySettings) -> None:
        self.settings = settings

    async def capabilities(
        self, uow: IdentityUow, principal_id: UUID, org_id: UUID | None
    ) -> frozenset[str]:
        """The capability patterns `principal_id` holds in the uow's tenant: tenant-wide
        grants, and with `org_id` that org's grants plus the system role of its standing
        there (an org `admin` holds the `admin` role within that org). Expired grants and
        resource-scoped grants (they only apply to one resource) are left out."""
        held: set[str] = set()
        for pattern in await uow.roles.capabilities(principal_id, org_id):
            if pattern.startswith(_MEMBER):
                held.update(SYSTEM_ROLES.get(pattern[len(_MEMBER) :], ()))
            else:
                held.add(pattern)
        return frozenset(held)
