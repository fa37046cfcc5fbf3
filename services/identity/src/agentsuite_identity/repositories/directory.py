"""SQL of tenants, users, organizations, members and invitations."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import text

from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.db import Repository

# one round trip: the tenant is active, and so is the principal the token names (a user,
# an API key or a tenant service account)
_ACTIVE = text(
    """
    SELECT EXISTS (
      SELECT 1 FROM tenants t
      WHERE t.tenant_id = CAST(current_setting('app.tenant_id') AS uuid) AND t.status = 'active'
        AND CASE CAST(:kind AS text)
          WHEN 'user' THEN EXISTS (
            SELECT 1 FROM users u WHERE u.user_id = :subject AND u.status = 'active')
          WHEN 'api_key' THEN EXISTS (
            SELECT 1 FROM api_keys k
            LEFT JOIN users o ON o.user_id = k.user_id
            WHERE k.api_key_id = :subject AND k.revoked_at IS NULL
              AND (k.expires_at IS NULL OR k.expires_at > now())
              AND (k.user_id IS NULL OR o.status = 'active'))
          WHEN 'service' THEN EXISTS (
            SELECT 1 FROM service_accounts s
            WHERE s.service_account_id = :subject AND s.status = 'active')
          ELSE false
        END)
    """
)


class Tenants(Repository):
    async def principal_active(self, kind: PrincipalKind, subject: UUID) -> bool:
        """Whether this unit of work's tenant is active and `subject` of `kind` in it is."""
        return bool(await self.session.scalar(_ACTIVE, {"kind": kind.value, "subject": subject}))


class Users(Repository):
    pass


class Orgs(Repository):
    pass


class Invitations(Repository):
    pass
