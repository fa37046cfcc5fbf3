"""SQL of roles, role assignments, ABAC policies and recorded decisions."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import RowMapping, and_, delete, insert, or_, select, text, tuple_, update

from agentsuite_identity.changes import CHANNEL, forget_here
from agentsuite_identity.repositories.tables import (
    decisions,
    members,
    policies,
    role_assignments,
    roles,
    tenants,
)
from agentsuite_kit.db import Repository

Row = RowMapping

_ROLE_COLS = (
    roles.c.role_id,
    roles.c.name,
    roles.c.description,
    roles.c.capabilities,
    roles.c.builtin,
    roles.c.created_at,
    roles.c.updated_at,
    roles.c.version,
)
_ASSIGNMENT_COLS = (
    role_assignments.c.assignment_id,
    role_assignments.c.role_id,
    role_assignments.c.principal_id,
    role_assignments.c.scope,
    role_assignments.c.org_id,
    role_assignments.c.resource_type,
    role_assignments.c.resource_id,
    role_assignments.c.expires_at,
    role_assignments.c.created_at,
    role_assignments.c.created_by,
)
_POLICY_COLS = (
    policies.c.policy_id,
    policies.c.name,
    policies.c.description,
    policies.c.effect,
    policies.c.actions,
    policies.c.resource_type,
    policies.c.resources,
    policies.c.condition,
    policies.c.priority,
    policies.c.enabled,
    policies.c.created_at,
    policies.c.updated_at,
    policies.c.version,
)
_DECISION_COLS = (
    decisions.c.decision_id,
    decisions.c.decided_at,
    decisions.c.request,
    decisions.c.allowed,
    decisions.c.reason,
    decisions.c.explanation,
    decisions.c.elapsed_ms,
)

_INSERT_ROLE = insert(roles)
_INSERT_ASSIGNMENT = insert(role_assignments)
_INSERT_POLICY = insert(policies)
_INSERT_DECISION = insert(decisions)

# the caller's tenant: its standing and the version of its authorization data, one row
_STATE = select(tenants.c.status, tenants.c.authz_version).where(
    tenants.c.tenant_id == text("CAST(current_setting('app.tenant_id') AS uuid)")
)

# tenant-wide grants, plus (when :org is given) that org's grants and the member standing;
# each pattern with whether it came from the org (the caller narrows those)
_CAPABILITIES = text(
    """
    SELECT unnest(r.capabilities), a.scope = 'org'
    FROM role_assignments a JOIN roles r ON r.role_id = a.role_id
    WHERE a.principal_id = :principal
      AND (a.expires_at IS NULL OR a.expires_at > now())
      AND (a.scope = 'tenant' OR (a.scope = 'org' AND a.org_id = CAST(:org AS uuid)))
    UNION
    SELECT 'member:' || m.role, true FROM members m
    WHERE m.user_id = :principal AND m.org_id = CAST(:org AS uuid)
    """
)

_PRUNE_ALL = text(
    """
    DELETE FROM decisions WHERE decision_id IN (
      SELECT decision_id FROM (
        SELECT decision_id, row_number() OVER (
          PARTITION BY tenant_id ORDER BY decided_at DESC, decision_id DESC) AS n
        FROM decisions) ranked
      WHERE ranked.n > :keep)
    RETURNING decision_id
    """
)


class Roles(Repository):
    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(_INSERT_ROLE, values)

    async def get(self, role_id: UUID) -> Row | None:
        row = (
            await self.session.execute(select(*_ROLE_COLS).where(roles.c.role_id == role_id))
        ).first()
        return None if row is None else row._mapping

    async def name_taken(self, name: str, other_than: UUID | None = None) -> bool:
        query = select(roles.c.role_id).where(roles.c.name == name)
        if other_than is not None:
            query = query.where(roles.c.role_id != other_than)
        return (await self.session.scalar(query.limit(1))) is not None

    async def page(self, after: tuple[Any, ...] | None, limit: int) -> list[Row]:
        query = select(*_ROLE_COLS).order_by(roles.c.name, roles.c.role_id).limit(limit + 1)
        if after is not None:
            query = query.where(tuple_(roles.c.name, roles.c.role_id) > tuple_(*after))
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def update(self, role_id: UUID, version: int, values: dict[str, Any]) -> Row | None:
        """Apply `values` when the row is still at `version`; the new row or None."""
        query = (
            update(roles)
            .where(roles.c.role_id == role_id, roles.c.version == version)
            .values(**values, version=roles.c.version + 1, updated_at=text("now()"))
            .returning(*_ROLE_COLS)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def delete(self, role_id: UUID) -> None:
        await self.session.execute(delete(roles).where(roles.c.role_id == role_id))

    async def all(self) -> list[Row]:
        return [r._mapping for r in (await self.session.execute(select(*_ROLE_COLS))).all()]

    async def capabilities(self, principal_id: UUID, org_id: UUID | None) -> list[tuple[str, bool]]:
        """(pattern, from the org) of the principal's live grants in scope; a member
        standing comes back as `member:<role>` for the caller to expand."""
        result = await self.session.execute(
            _CAPABILITIES,
            {"principal": principal_id, "org": None if org_id is None else str(org_id)},
        )
        return [(str(pattern), bool(in_org)) for pattern, in_org in result.all()]


class Assignments(Repository):
    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(_INSERT_ASSIGNMENT, values)

    async def get(self, assignment_id: UUID) -> Row | None:
        query = select(*_ASSIGNMENT_COLS).where(role_assignments.c.assignment_id == assignment_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def page(
        self,
        after: tuple[Any, ...] | None,
        limit: int,
        *,
        principal_id: UUID | None = None,
        role_id: UUID | None = None,
        org_scope: UUID | None = None,
    ) -> list[Row]:
        """`org_scope`: leave out grants in any other org (the tenant's own stay)."""
        c = role_assignments.c
        query = select(*_ASSIGNMENT_COLS).order_by(c.created_at, c.assignment_id).limit(limit + 1)
        if org_scope is not None:
            query = query.where(or_(c.org_id.is_(None), c.org_id == org_scope))
        if principal_id is not None:
            query = query.where(c.principal_id == principal_id)
        if role_id is not None:
            query = query.where(c.role_id == role_id)
        if after is not None:
            query = query.where(tuple_(c.created_at, c.assignment_id) > tuple_(*after))
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def of_role(self, role_id: UUID) -> list[Row]:
        query = select(*_ASSIGNMENT_COLS).where(role_assignments.c.role_id == role_id)
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def delete(self, assignment_id: UUID) -> None:
        await self.session.execute(
            delete(role_assignments).where(role_assignments.c.assignment_id == assignment_id)
        )

    async def live(self) -> list[Row]:
        """Every grant not yet expired (the snapshot re-checks expiry at decision time)."""
        c = role_assignments.c
        query = select(*_ASSIGNMENT_COLS).where(
            or_(c.expires_at.is_(None), c.expires_at > text("now()"))
        )
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def members(self) -> list[Row]:
        query = select(members.c.org_id, members.c.user_id, members.c.role)
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def state(self) -> tuple[str, int] | None:
        """The tenant's status and authz_version: the one query of a warm decision."""
        row = (await self.session.execute(_STATE)).first()
        return None if row is None else (str(row[0]), int(row[1]))


class Policies(Repository):
    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(_INSERT_POLICY, values)

    async def get(self, policy_id: UUID) -> Row | None:
        query = select(*_POLICY_COLS).where(policies.c.policy_id == policy_id)
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def name_taken(self, name: str, other_than: UUID | None = None) -> bool:
        query = select(policies.c.policy_id).where(policies.c.name == name)
        if other_than is not None:
            query = query.where(policies.c.policy_id != other_than)
        return (await self.session.scalar(query.limit(1))) is not None

    async def page(self, after: tuple[Any, ...] | None, limit: int) -> list[Row]:
        c = policies.c
        query = select(*_POLICY_COLS).order_by(c.name, c.policy_id).limit(limit + 1)
        if after is not None:
            query = query.where(tuple_(c.name, c.policy_id) > tuple_(*after))
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def update(self, policy_id: UUID, version: int, values: dict[str, Any]) -> Row | None:
        query = (
            update(policies)
            .where(policies.c.policy_id == policy_id, policies.c.version == version)
            .values(**values, version=policies.c.version + 1, updated_at=text("now()"))
            .returning(*_POLICY_COLS)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else row._mapping

    async def delete(self, policy_id: UUID) -> None:
        await self.session.execute(delete(policies).where(policies.c.policy_id == policy_id))

    async def all(self) -> list[Row]:
        return [r._mapping for r in (await self.session.execute(select(*_POLICY_COLS))).all()]


class Decisions(Repository):
    def record(self, values: dict[str, Any]) -> None:
        # nobody reads it back in the request: deferred, written with the outbox row
        self.session.defer(_INSERT_DECISION, values)

    async def recent(self, limit: int) -> list[Row]:
        c = decisions.c
        query = select(*_DECISION_COLS).order_by(c.decided_at.desc(), c.decision_id.desc())
        return [r._mapping for r in (await self.session.execute(query.limit(limit))).all()]

    async def page(
        self, after: tuple[Any, ...] | None, limit: int, *, org_scope: UUID | None = None
    ) -> list[Row]:
        """`org_scope`: leave out decisions about another org's resources."""
        c = decisions.c
        query = (
            select(*_DECISION_COLS)
            .order_by(c.decided_at.desc(), c.decision_id.desc())
            .limit(limit + 1)
        )
        if org_scope is not None:
            org = c.request["resource"]["org_id"].astext
            query = query.where(or_(org.is_(None), org == str(org_scope)))
        if after is not None:
            query = query.where(tuple_(c.decided_at, c.decision_id) < tuple_(*after))
        return [r._mapping for r in (await self.session.execute(query)).all()]

    async def prune(self, keep: int) -> int:
        """Delete all but the newest `keep` decisions of this tenant; how many went."""
        c = decisions.c
        newest = (
            select(c.decided_at, c.decision_id)
            .order_by(c.decided_at.desc(), c.decision_id.desc())
            .offset(max(keep, 0))
            .limit(1)
        )
        edge = (await self.session.execute(newest)).first()
        if edge is None:
            return 0
        done = await self.session.execute(
            delete(decisions)
            .where(
                or_(
                    c.decided_at < edge[0],
                    and_(c.decided_at == edge[0], c.decision_id <= edge[1]),
                )
            )
            .returning(c.decision_id)
        )
        return len(done.all())

    async def prune_all(self, keep: int) -> int:
        """In an all-tenants unit of work: keep each tenant's newest `keep` decisions."""
        done = await self.session.execute(_PRUNE_ALL, {"keep": keep})
        return len(done.all())


# one round trip: bump the version and announce it; PostgreSQL delivers the notification
# when (and only if) the transaction commits
_TOUCH = text(
    """
    WITH bumped AS (
      UPDATE tenants SET authz_version = authz_version + 1
      WHERE tenant_id = CAST(current_setting('app.tenant_id') AS uuid)
      RETURNING tenant_id)
    SELECT pg_notify(:channel, CAST(tenant_id AS text)) FROM bumped
    """
).bindparams(channel=CHANNEL)


def _forget(repo: Repository, tenant: UUID | None) -> None:
    """Void this process's tickets of `tenant` now and again once committed: a read in
    between (of the state before the commit) must not stay trusted until the
    notification comes back."""
    forget_here(tenant)
    repo.session.on_commit(lambda: forget_here(tenant))


async def touch(repo: Repository) -> None:
    """Bump this tenant's `authz_version`: every cached authorization snapshot of it is
    stale. Call after any change to roles, assignments, policies or org members."""
    _forget(repo, repo.session.info["tenant"])
    await repo.session.execute(_TOUCH)


async def announce(repo: Repository, tenant_id: UUID | None = None) -> None:
    """Tell every identity process, at commit, that the tenant's authorization state (or a
    principal's standing in it) moved; by default the unit of work's tenant, if any."""
    tenant = tenant_id if tenant_id is not None else repo.session.info["tenant"]
    _forget(repo, tenant)
    if tenant is not None:
        repo.session.notify(CHANNEL, str(tenant))
