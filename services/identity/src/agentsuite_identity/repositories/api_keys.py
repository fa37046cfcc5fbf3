"""SQL of API keys."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert

from agentsuite_identity.repositories.tables import (
    api_keys,
    members,
    orgs,
    tenants,
    users,
)
from agentsuite_kit.db import Repository

# what a list or a read shows: everything but the hash
_VIEW = (
    api_keys.c.api_key_id,
    api_keys.c.name,
    api_keys.c.prefix,
    api_keys.c.user_id,
    api_keys.c.org_id,
    api_keys.c.created_by,
    api_keys.c.scopes,
    api_keys.c.rate_limit_per_minute,
    api_keys.c.expires_at,
    api_keys.c.last_used_at,
    api_keys.c.revoked_at,
    api_keys.c.revoke_reason,
    api_keys.c.created_at,
)

_ADD = (
    insert(api_keys)
    .on_conflict_do_nothing(index_elements=[api_keys.c.prefix])
    .returning(api_keys.c.created_at)
)

# the exchange's one read: the key, its tenant's status and its owner's status
_FOR_EXCHANGE = (
    select(
        api_keys.c.api_key_id,
        api_keys.c.tenant_id,
        api_keys.c.secret_hash,
        api_keys.c.user_id,
        api_keys.c.org_id,
        api_keys.c.scopes,
        api_keys.c.rate_limit_per_minute,
        api_keys.c.expires_at,
        api_keys.c.last_used_at,
        api_keys.c.revoked_at,
        tenants.c.status.label("tenant_status"),
        users.c.status.label("owner_status"),
        orgs.c.org_id.label("org_found"),
    )
    .join(tenants, tenants.c.tenant_id == api_keys.c.tenant_id)
    .outerjoin(users, users.c.user_id == api_keys.c.user_id)
    .outerjoin(orgs, orgs.c.org_id == api_keys.c.org_id)
)

# at most one write a minute per key, however many exchanges: the WHERE makes concurrent
# workers' touches of the same minute a no-op
_TOUCH = text(
    "UPDATE api_keys SET last_used_at = now() WHERE api_key_id = :id "
    "AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')"
)


# GCRA (limits.py): pass and push the TAT one interval on, or leave it and return nothing.
# ON CONFLICT locks the key's row, so concurrent exchanges anywhere are decided one by one.
_SPEND = text(
    """
    INSERT INTO api_key_rates AS r (api_key_id, tat)
    VALUES (:key, clock_timestamp() + make_interval(secs => :interval))
    ON CONFLICT (api_key_id) DO UPDATE
      SET tat = greatest(r.tat, clock_timestamp()) + make_interval(secs => :interval)
      WHERE greatest(r.tat, clock_timestamp())
            <= clock_timestamp() + make_interval(secs => :tolerance)
    RETURNING tat
    """
)
_AHEAD = text(
    "SELECT extract(epoch FROM tat - clock_timestamp()) FROM api_key_rates WHERE api_key_id = :key"
)


class ApiKeys(Repository):
    async def add(self, values: dict[str, Any]) -> datetime | None:
        """Insert a key; None when its prefix is taken (the caller draws another)."""
        created: datetime | None = await self.session.scalar(_ADD.values(**values))
        return created

    async def spend(self, api_key_id: UUID, interval: float, tolerance: float) -> float | None:
        """One exchange of a rate-limited key: None when it passes (and is counted), else
        how many seconds ahead of now the key's next exchange is due."""
        params = {"key": api_key_id, "interval": interval, "tolerance": tolerance}
        if (await self.session.execute(_SPEND, params)).first() is not None:
            return None
        ahead = await self.session.scalar(_AHEAD, {"key": api_key_id})
        return float(ahead if ahead is not None else interval)

    async def get(self, api_key_id: UUID) -> Any:
        return (
            await self.session.execute(select(*_VIEW).where(api_keys.c.api_key_id == api_key_id))
        ).first()

    async def page(
        self,
        limit: int,
        after: tuple[Any, ...] | None = None,
        *,
        user_id: UUID | None = None,
        org_id: UUID | None = None,
    ) -> list[Any]:
        """Newest first, `limit` rows after the cursor (created_at, api_key_id)."""
        query = select(*_VIEW)
        if after is not None:
            query = query.where(
                tuple_(api_keys.c.created_at, api_keys.c.api_key_id) < tuple_(*after)
            )
        if user_id is not None:
            query = query.where(api_keys.c.user_id == user_id)
        if org_id is not None:
            query = query.where(api_keys.c.org_id == org_id)
        query = query.order_by(api_keys.c.created_at.desc(), api_keys.c.api_key_id.desc())
        return list((await self.session.execute(query.limit(limit))).all())

    async def revoke(self, api_key_id: UUID, reason: str | None) -> Any:
        """Revoke a live key and return it; None if it is unknown or already revoked."""
        done = await self.session.execute(
            update(api_keys)
            .where(api_keys.c.api_key_id == api_key_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=text("now()"), revoke_reason=reason)
            .returning(*_VIEW)
        )
        return done.first()

    async def revoke_org(self, org_id: UUID, reason: str) -> list[Any]:
        """Revoke every live key of the org; the keys revoked (id and prefix)."""
        done = await self.session.execute(
            update(api_keys)
            .where(api_keys.c.org_id == org_id, api_keys.c.revoked_at.is_(None))
            .values(revoked_at=text("now()"), revoke_reason=reason)
            .returning(api_keys.c.api_key_id, api_keys.c.prefix)
        )
        return list(done.all())

    async def locate(self, prefix: str) -> tuple[UUID, UUID] | None:
        """(api_key_id, tenant_id) of the key with `prefix`: the one cross-tenant read
        (the tenant is not known before it), in an all_tenants unit of work."""
        row = (
            await self.session.execute(
                select(api_keys.c.api_key_id, api_keys.c.tenant_id).where(
                    api_keys.c.prefix == prefix
                )
            )
        ).first()
        return None if row is None else (row.api_key_id, row.tenant_id)

    async def for_exchange(self, api_key_id: UUID) -> Any:
        return (
            await self.session.execute(_FOR_EXCHANGE.where(api_keys.c.api_key_id == api_key_id))
        ).first()

    async def touch(self, api_key_id: UUID) -> None:
        await self.session.execute(_TOUCH, {"id": api_key_id})

    async def org_role(self, org_id: UUID, user_id: UUID) -> str | None:
        """The user's standing in the org (owner, admin, member), None if not a member."""
        role: str | None = await self.session.scalar(
            select(members.c.role).where(
                and_(members.c.org_id == org_id, members.c.user_id == user_id)
            )
        )
        return role
