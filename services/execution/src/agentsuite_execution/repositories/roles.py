"""Projection of identity's roles and who holds them: `names_of` answers whether a user
may decide an approval addressed to `role:<name>` (access tokens carry no roles).

Written by `handlers.roles`, idempotent and order-tolerant by event time, as the other
projections (`repositories.projections`): each row keeps the time of the last event
applied in `updated_at` and takes a change only from an event at least as recent.
A role's deletion and an assignment's revoke arriving first leave a row behind, so the
create or assignment arriving after them does not bring the grant back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_execution.repositories.projected import role_assignments, roles
from agentsuite_kit.db.repository import Repository

Resource = tuple[str, str]


def assignment_key(
    role_id: UUID,
    user_id: UUID,
    org_id: UUID | None,
    resource: Resource | None,
    assignment_id: UUID | None,
) -> str:
    """The assignment id; for an event without one, the grant it names: its role, user
    and scope (identity sends the id; the fallback is for events that lack it)."""
    if assignment_id is not None:
        return str(assignment_id)
    kind, ident = resource or (None, None)
    # JSON, not a joined string: a resource id may hold any separator
    return json.dumps([str(role_id), str(user_id), org_id and str(org_id), kind, ident])


@dataclass(frozen=True)
class Grant:
    """One grant of a role to a user, as identity's assignment and revoke events name it:
    in the whole tenant, in one org, or on one resource."""

    role_id: UUID
    user_id: UUID
    org_id: UUID | None
    resource: Resource | None
    assignment_id: UUID | None

    @property
    def key(self) -> str:
        """The row's key: the assignment id, or the grant itself for an event without one."""
        return assignment_key(
            self.role_id, self.user_id, self.org_id, self.resource, self.assignment_id
        )

    @property
    def own_key(self) -> str:
        """The key of the grant itself, whichever assignment id its event carries."""
        return assignment_key(self.role_id, self.user_id, self.org_id, self.resource, None)


def _same_grant(
    role_id: UUID, user_id: UUID, org_id: UUID | None, resource: Resource | None
) -> list[ColumnElement[bool]]:
    kind, ident = resource or (None, None)
    a = role_assignments.c
    return [
        a.role_id == role_id,
        a.user_id == user_id,
        a.org_id.is_not_distinct_from(org_id),
        a.resource_type.is_not_distinct_from(kind),
        a.resource_id.is_not_distinct_from(ident),
    ]


class Roles(Repository):
    @property
    def _tenant(self) -> UUID:
        tenant: UUID | None = self.session.info["tenant"]
        if tenant is None:
            raise ValueError("roles are per tenant: use a tenant's unit of work")
        return tenant

    async def name(self, role_id: UUID, name: str, at: datetime) -> None:
        """A role created or renamed at `at`; ignored once deleted or after a newer name."""
        row = pg_insert(roles).values(
            tenant_id=self._tenant, role_id=role_id, name=name, updated_at=at
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[roles.c.tenant_id, roles.c.role_id],
                set_={"name": row.excluded.name, "updated_at": row.excluded.updated_at},
                where=and_(
                    roles.c.deleted.is_(false()),
                    roles.c.updated_at <= row.excluded.updated_at,
                ),
            )
        )

    async def delete(self, role_id: UUID, name: str, at: datetime) -> None:
        """For good, whatever arrives later (role ids are never reused)."""
        row = pg_insert(roles).values(
            tenant_id=self._tenant, role_id=role_id, name=name, deleted=True, updated_at=at
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[roles.c.tenant_id, roles.c.role_id],
                set_={"deleted": true()},
            )
        )

    async def assign(self, grant: Grant, *, expires_at: datetime | None, at: datetime) -> None:
        """The grant as of `at`. A revoke of it at `at` or later (already applied under
        this key, or under the grant's own key by an event without an id) keeps it
        revoked."""
        a = role_assignments.c
        earlier = role_assignments.alias("earlier")
        revoked_since = exists().where(
            earlier.c.tenant_id == self._tenant,
            earlier.c.assignment == grant.own_key,
            earlier.c.revoked.is_(true()),
            earlier.c.updated_at >= at,
        )
        row = pg_insert(role_assignments).values(
            **self._row(grant),
            expires_at=expires_at,
            revoked=select(revoked_since).scalar_subquery(),
            updated_at=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[a.tenant_id, a.assignment],
                set_={
                    "expires_at": row.excluded.expires_at,
                    "revoked": row.excluded.revoked,
                    "updated_at": row.excluded.updated_at,
                },
                # a redelivery of the applied assignment is harmless; an equally old
                # revoke wins
                where=or_(
                    a.updated_at < row.excluded.updated_at,
                    and_(a.updated_at == row.excluded.updated_at, a.revoked.is_(false())),
                ),
            )
        )

    async def revoke(self, grant: Grant, *, at: datetime) -> None:
        """The grant is withdrawn as of `at`; before its assignment arrives too."""
        a = role_assignments.c
        row = pg_insert(role_assignments).values(**self._row(grant), revoked=True, updated_at=at)
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[a.tenant_id, a.assignment],
                set_={"revoked": true(), "updated_at": row.excluded.updated_at},
                where=a.updated_at <= row.excluded.updated_at,
            )
        )
        if grant.key != grant.own_key:
            return
        # without an id the event names the grant: every assignment of it made before
        await self.session.execute(
            role_assignments.update()
            .where(
                a.tenant_id == self._tenant,
                *_same_grant(grant.role_id, grant.user_id, grant.org_id, grant.resource),
                a.updated_at <= at,
            )
            .values(revoked=True, updated_at=at)
        )

    def _row(self, grant: Grant) -> dict[str, Any]:
        """The columns that name the grant, in this tenant, under its key."""
        kind, ident = grant.resource or (None, None)
        return {
            "tenant_id": self._tenant,
            "assignment": grant.key,
            "role_id": grant.role_id,
            "user_id": grant.user_id,
            "org_id": grant.org_id,
            "resource_type": kind,
            "resource_id": ident,
        }

    async def names_of(
        self,
        user_id: UUID,
        *,
        org_id: UUID | None = None,
        resource: Resource | None = None,
        now: datetime | None = None,
    ) -> set[str]:
        """Names of the roles `user_id` holds now: tenant-wide grants, plus those in
        `org_id` and on `resource` when given (identity's rule: a grant limited to an org
        or a resource confers nothing elsewhere). Expired, revoked and deleted-role
        grants, and grants of roles not yet known here, do not count."""
        a = role_assignments.c
        scopes = [and_(a.org_id.is_(None), a.resource_type.is_(None))]
        if org_id is not None:
            scopes.append(and_(a.org_id == org_id, a.resource_type.is_(None)))
        if resource is not None:
            scopes.append(and_(a.resource_type == resource[0], a.resource_id == resource[1]))
        query = (
            select(roles.c.name)
            .distinct()
            .select_from(
                role_assignments.join(
                    roles, and_(roles.c.tenant_id == a.tenant_id, roles.c.role_id == a.role_id)
                )
            )
            .where(
                a.tenant_id == self._tenant,
                a.user_id == user_id,
                a.revoked.is_(false()),
                or_(a.expires_at.is_(None), a.expires_at > (now or datetime.now(UTC))),
                roles.c.deleted.is_(false()),
                or_(*scopes),
            )
        )
        return set((await self.session.scalars(query)).all())
