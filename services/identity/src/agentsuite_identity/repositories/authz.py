"""SQL of roles, role assignments, ABAC policies and recorded decisions."""

from __future__ import annotations

from sqlalchemy import text

from agentsuite_kit.db import Repository


class Roles(Repository):
    pass


class Assignments(Repository):
    pass


class Policies(Repository):
    pass


class Decisions(Repository):
    pass


_TOUCH = text(
    "UPDATE tenants SET authz_version = authz_version + 1 "
    "WHERE tenant_id = CAST(current_setting('app.tenant_id') AS uuid)"
)


async def touch(repo: Repository) -> None:
    """Bump this tenant's `authz_version`: every cached authorization snapshot of it is
    stale. Call after any change to roles, assignments, policies or org members."""
    await repo.session.execute(_TOUCH)
