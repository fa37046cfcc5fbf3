"""SQL of the revocation list: principals whose tokens must stop before they expire."""

from __future__ import annotations

from sqlalchemy import text

from agentsuite_kit.db import Repository

# every tenant's (an all_tenants uow): disabled accounts, deactivated users, revoked keys
# whose change is younger than the longest token life, so the list stays short
_RECENT = text(
    """
    SELECT service_account_id AS subject, updated_at AS at FROM service_accounts
      WHERE status = 'disabled' AND updated_at > now() - make_interval(secs => :horizon)
    UNION ALL
    SELECT user_id, updated_at FROM users
      WHERE status = 'deactivated' AND updated_at > now() - make_interval(secs => :horizon)
    UNION ALL
    SELECT api_key_id, revoked_at FROM api_keys
      WHERE revoked_at > now() - make_interval(secs => :horizon)
    ORDER BY at DESC
    LIMIT :limit
    """
)


class Revocations(Repository):
    async def recent(self, horizon: float, limit: int) -> list[str]:
        """Ids of principals made unusable within the last `horizon` seconds, newest first."""
        rows = await self.session.execute(_RECENT, {"horizon": horizon, "limit": limit})
        return [str(r.subject) for r in rows.all()]
