"""SQL of the revocation list: principals whose tokens must stop before they expire."""

from __future__ import annotations

from sqlalchemy import text

from agentsuite_kit.db import Repository

# every tenant's (an all_tenants uow): disabled accounts, deactivated users and the API
# keys they own (an API-key token's subject is the key), revoked keys; each whose change
# is younger than the longest token life, so the list stays short. Each branch is served
# by a partial index (migration 0007) holding only such rows.
_RECENT = text(
    """
    SELECT service_account_id AS subject, updated_at AS at FROM service_accounts
      WHERE status = 'disabled' AND updated_at > now() - make_interval(secs => :horizon)
    UNION ALL
    SELECT user_id, updated_at FROM users
      WHERE status = 'deactivated' AND updated_at > now() - make_interval(secs => :horizon)
    UNION ALL
    SELECT k.api_key_id, u.updated_at FROM users u JOIN api_keys k ON k.user_id = u.user_id
      WHERE u.status = 'deactivated' AND u.updated_at > now() - make_interval(secs => :horizon)
        AND k.revoked_at IS NULL
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
