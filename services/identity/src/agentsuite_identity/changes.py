"""Which tenants' authorization state this process knows to be current, without asking.

Every change that moves a tenant's decisions (roles, grants, policies, members, the
tenant's status) sends `NOTIFY identity_authz '<tenant>'` in its own transaction; the kit's
`Changes` (agentsuite_kit.db.changes: one LISTEN connection, tickets, reconnects) turns that
into tickets a cache keeps with what it read. A warm `authorize` (and identity's live check
of a token's principal) then needs no database round trip at all.
"""

from __future__ import annotations

from uuid import UUID

from agentsuite_kit.db import changes as kit

CHANNEL = "identity_authz"
"""The NOTIFY channel of authorization changes; the payload is the tenant id."""

PLATFORM = UUID(int=0)
"""The key of tenantless principals' standing (platform and service accounts): announced
and ticketed like a tenant, so their disabling reaches every identity process too."""

Ticket = kit.Ticket
asyncpg_dsn = kit.asyncpg_dsn

__all__ = ["CHANNEL", "PLATFORM", "Changes", "Ticket", "asyncpg_dsn", "forget_here"]


def forget_here(tenant: UUID | None) -> None:
    """Void this process's tickets of `tenant` at once (all tenants if None). Called when a
    change is written and once it is committed (`repositories.authz`); its notification
    voids them again in every process."""
    kit.void_here(CHANNEL, tenant)


class Changes(kit.Changes):
    """The authorization changes of this process."""

    def __init__(self, dsn: str, *, retry: float = 1.0) -> None:
        super().__init__(dsn, CHANNEL, retry=retry)
