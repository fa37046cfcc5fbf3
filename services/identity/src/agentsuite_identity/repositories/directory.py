"""SQL of tenants, users, organizations, members and invitations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, delete, func, insert, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_identity.repositories.authz import announce
from agentsuite_identity.repositories.tables import (
    invitations,
    members,
    metadata,
    orgs,
    tenants,
    users,
)
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
              AND (k.user_id IS NULL OR o.status = 'active')
              AND (k.org_id IS NULL OR EXISTS (SELECT 1 FROM orgs g WHERE g.org_id = k.org_id)))
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

    async def add(self, tenant_id: UUID, slug: str, name: str, tier: str) -> bool:
        """Insert the tenant; False when the slug is taken (by any tenant: it is global)."""
        done = await self.session.scalar(
            pg_insert(tenants)
            .values(tenant_id=tenant_id, slug=slug, name=name, tier=tier, status="active")
            .on_conflict_do_nothing()
            .returning(tenants.c.tenant_id)
        )
        return done is not None

    async def slug_taken(self, slug: str) -> bool:
        """Across tenants: call in an `all_tenants` unit of work."""
        found = await self.session.scalar(select(tenants.c.tenant_id).where(tenants.c.slug == slug))
        return found is not None

    async def get(self, tenant_id: UUID, *, lock: bool = False) -> RowMapping | None:
        query = select(tenants).where(tenants.c.tenant_id == tenant_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def page(self, after: Sequence[Any] | None, limit: int) -> list[RowMapping]:
        return await _page(self, tenants, tenants.c.tenant_id, after, limit)

    async def change(self, tenant_id: UUID, **values: Any) -> RowMapping:
        """Set `values`, bump the version; the row as it now is. A status change is
        announced to every identity process (delivered at commit): their authorization
        caches hold the tenant's status."""
        row = await _change(self, tenants, tenants.c.tenant_id == tenant_id, values)
        if "status" in values:
            await announce(self, tenant_id)
        return row

    async def purge(self, tenant_id: UUID) -> None:
        """Delete every row of the tenant in every identity table (children first)."""
        for table in reversed(metadata.sorted_tables):
            if "tenant_id" in table.c:
                await self.session.execute(delete(table).where(table.c.tenant_id == tenant_id))


class Users(Repository):
    async def add(
        self,
        user_id: UUID,
        tenant_id: UUID,
        email: str,
        display_name: str,
        password_hash: str | None,
        status: str,
        attributes: dict[str, Any],
    ) -> bool:
        """False when the email is already a user of the tenant."""
        done = await self.session.scalar(
            pg_insert(users)
            .values(
                user_id=user_id,
                tenant_id=tenant_id,
                email=email,
                display_name=display_name,
                password_hash=password_hash,
                status=status,
                attributes=attributes,
            )
            .on_conflict_do_nothing()
            .returning(users.c.user_id)
        )
        return done is not None

    async def get(self, user_id: UUID, *, lock: bool = False) -> RowMapping | None:
        query = select(users).where(users.c.user_id == user_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def by_email(self, email: str, *, lock: bool = False) -> RowMapping | None:
        # in any case, as sign-in finds it (email_lower: see migration 0005)
        query = select(users).where(users.c.email_lower == email.lower())
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def page(
        self, after: Sequence[Any] | None, limit: int, status: str | None = None
    ) -> list[RowMapping]:
        where = [] if status is None else [users.c.status == status]
        return await _page(self, users, users.c.user_id, after, limit, *where)

    async def change(self, user_id: UUID, **values: Any) -> RowMapping:
        row = await _change(self, users, users.c.user_id == user_id, values)
        if "status" in values:
            await announce(self)  # identity's live token check caches who is active
        return row


class Orgs(Repository):
    async def add(self, org_id: UUID, tenant_id: UUID, slug: str, name: str, owner: UUID) -> bool:
        """False when the slug is taken in the tenant."""
        done = await self.session.scalar(
            pg_insert(orgs)
            .values(org_id=org_id, tenant_id=tenant_id, slug=slug, name=name, owner_id=owner)
            .on_conflict_do_nothing()
            .returning(orgs.c.org_id)
        )
        return done is not None

    async def get(self, org_id: UUID, *, lock: bool = False) -> RowMapping | None:
        query = select(orgs).where(orgs.c.org_id == org_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def page(self, after: Sequence[Any] | None, limit: int) -> list[RowMapping]:
        return await _page(self, orgs, orgs.c.org_id, after, limit)

    async def change(self, org_id: UUID, **values: Any) -> RowMapping:
        return await _change(self, orgs, orgs.c.org_id == org_id, values)

    async def remove(self, org_id: UUID) -> None:
        await self.session.execute(delete(orgs).where(orgs.c.org_id == org_id))

    async def member_role(self, org_id: UUID, user_id: UUID) -> str | None:
        role: str | None = await self.session.scalar(
            select(members.c.role).where(members.c.org_id == org_id, members.c.user_id == user_id)
        )
        return role

    async def owners(self, org_id: UUID) -> int:
        return int(
            await self.session.scalar(
                select(func.count())
                .select_from(members)
                .where(members.c.org_id == org_id, members.c.role == "owner")
            )
            or 0
        )

    async def put_member(self, org_id: UUID, tenant_id: UUID, user_id: UUID, role: str) -> None:
        statement = pg_insert(members).values(
            org_id=org_id, tenant_id=tenant_id, user_id=user_id, role=role
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[members.c.org_id, members.c.user_id], set_={"role": role}
            )
        )

    async def remove_member(self, org_id: UUID, user_id: UUID) -> None:
        await self.session.execute(
            delete(members).where(members.c.org_id == org_id, members.c.user_id == user_id)
        )

    async def member(self, org_id: UUID, user_id: UUID) -> RowMapping | None:
        query = _MEMBERS.where(members.c.org_id == org_id, members.c.user_id == user_id)
        return (await self.session.execute(query)).mappings().first()

    async def members(
        self, org_id: UUID, after: Sequence[Any] | None, limit: int
    ) -> list[RowMapping]:
        query = (
            _MEMBERS.where(members.c.org_id == org_id)
            .order_by(members.c.created_at, members.c.user_id)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(tuple_(members.c.created_at, members.c.user_id) > tuple_(*after))
        return list((await self.session.execute(query)).mappings().all())

    async def slug_taken(self, slug: str) -> bool:
        return (
            await self.session.scalar(select(orgs.c.org_id).where(orgs.c.slug == slug)) is not None
        )


_MEMBERS = select(
    members.c.user_id,
    members.c.role,
    members.c.created_at,
    users.c.email,
    users.c.display_name,
    users.c.status,
).join(users, users.c.user_id == members.c.user_id)


class Invitations(Repository):
    async def add(self, **values: Any) -> None:
        await self.session.execute(insert(invitations).values(**values))

    async def get(self, invitation_id: UUID, *, lock: bool = False) -> RowMapping | None:
        query = select(invitations).where(invitations.c.invitation_id == invitation_id)
        if lock:
            query = query.with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def by_digest(self, digest: bytes) -> RowMapping | None:
        """Locked: two accepts of one token run one after the other, the second sees it used."""
        query = select(invitations).where(invitations.c.token_hash == digest).with_for_update()
        return (await self.session.execute(query)).mappings().first()

    async def page(self, org_id: UUID, after: Sequence[Any] | None, limit: int) -> list[RowMapping]:
        return await _page(
            self,
            invitations,
            invitations.c.invitation_id,
            after,
            limit,
            invitations.c.org_id == org_id,
        )

    async def mark(self, invitation_id: UUID, **values: Any) -> None:
        await self.session.execute(
            update(invitations).where(invitations.c.invitation_id == invitation_id).values(**values)
        )

    async def lapsed(self, now: datetime, limit: int = 500) -> list[RowMapping]:
        """Pending invitations past their expiry, locked, oldest first."""
        query = (
            select(invitations.c.invitation_id, invitations.c.org_id, invitations.c.tenant_id)
            .where(
                invitations.c.accepted_at.is_(None),
                invitations.c.revoked_at.is_(None),
                invitations.c.expires_at <= now,
            )
            .order_by(invitations.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list((await self.session.execute(query)).mappings().all())


async def _page(
    repo: Repository,
    table: Table,
    key: Any,
    after: Sequence[Any] | None,
    limit: int,
    *where: Any,
) -> list[RowMapping]:
    """Up to `limit + 1` rows in (created_at, id) order after the cursor's pair."""
    query = select(table).where(*where).order_by(table.c.created_at, key).limit(limit + 1)
    if after is not None:
        query = query.where(tuple_(table.c.created_at, key) > tuple_(*after))
    return list((await repo.session.execute(query)).mappings().all())


async def _change(repo: Repository, table: Table, where: Any, values: dict[str, Any]) -> RowMapping:
    row = (
        (
            await repo.session.execute(
                update(table)
                .where(where)
                .values(**values, version=table.c.version + 1, updated_at=func.now())
                .returning(table)
            )
        )
        .mappings()
        .one()
    )
    return row
