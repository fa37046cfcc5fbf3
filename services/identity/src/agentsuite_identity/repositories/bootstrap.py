"""SQL of the bootstrap: which tenantless service accounts exist already."""

from __future__ import annotations

from sqlalchemy import select, text

from agentsuite_identity.repositories.tables import service_accounts
from agentsuite_kit.db import Repository

# concurrent workers starting together must not each mint an operator credential
_LOCK = text("SELECT pg_advisory_xact_lock(hashtext('identity.bootstrap'))")
_NAMES = select(service_accounts.c.name).where(service_accounts.c.tenant_id.is_(None))


class Bootstrap(Repository):
    async def lock(self) -> None:
        await self.session.execute(_LOCK)

    async def tenantless_names(self) -> set[str]:
        return set(await self.session.scalars(_NAMES))
