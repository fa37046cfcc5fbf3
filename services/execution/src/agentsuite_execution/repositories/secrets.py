"""Tenant secrets: sealed values by (tenant, name). Reads of a secret's metadata never
select its value; the sealed value is read only to open it for a call or to re-seal it."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_execution.repositories.catalog import first, tenant_of
from agentsuite_execution.repositories.tables import secrets
from agentsuite_kit.db.repository import Repository

_META = (
    secrets.c.name,
    secrets.c.description,
    secrets.c.key_id,
    secrets.c.version,
    secrets.c.created_at,
    secrets.c.updated_at,
)


class Secrets(Repository):
    async def put(
        self, name: str, value: bytes, key_id: str, description: str | None
    ) -> tuple[RowMapping, bool]:
        """Create or replace the secret; (its metadata, whether it was created)."""
        row = pg_insert(secrets).values(
            tenant_id=tenant_of(self),
            name=name,
            value=value,
            key_id=key_id,
            description=description,
        )
        query = row.on_conflict_do_update(
            index_elements=[secrets.c.tenant_id, secrets.c.name],
            set_={
                "value": row.excluded.value,
                "key_id": row.excluded.key_id,
                "description": row.excluded.description,
                "version": secrets.c.version + 1,
                "updated_at": func.now(),
            },
        ).returning(*_META)
        found = await first(self, query)
        assert found is not None  # an upsert returns its row
        return found, found["version"] == 1

    async def get(self, name: str) -> RowMapping | None:
        """The secret's metadata (never its value)."""
        return await first(self, select(*_META).where(secrets.c.name == name))

    async def sealed(self, name: str) -> RowMapping | None:
        """The sealed value and its key id, to open for a call."""
        query = select(secrets.c.value, secrets.c.key_id).where(secrets.c.name == name)
        return await first(self, query)

    async def delete(self, name: str) -> bool:
        """Whether there was such a secret."""
        done = await self.session.execute(
            secrets.delete().where(secrets.c.name == name).returning(secrets.c.name)
        )
        return done.first() is not None

    async def delete_tenant(self) -> int:
        """Delete every secret of the unit of work's tenant (the tenant is deleted); how many.
        The sealed values go with their rows: nothing is left to open."""
        done = await self.session.execute(
            secrets.delete().where(secrets.c.tenant_id == tenant_of(self)).returning(secrets.c.name)
        )
        return len(done.all())

    async def stale(
        self, active_key: str, limit: int, after: tuple[UUID, str] | None
    ) -> list[RowMapping]:
        """Rows under another key than `active_key`, in (tenant, name) order after `after`,
        locked (skipping rows another worker holds). In an all-tenants unit of work."""
        query = (
            select(secrets.c.tenant_id, secrets.c.name, secrets.c.value, secrets.c.key_id)
            .where(secrets.c.key_id != active_key)
            .order_by(secrets.c.tenant_id, secrets.c.name)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if after is not None:
            query = query.where(tuple_(secrets.c.tenant_id, secrets.c.name) > after)
        return list((await self.session.execute(query)).mappings().all())

    async def reseal(self, tenant_id: UUID, name: str, value: bytes, key_id: str) -> None:
        """The same value under another key: not a change of the secret (no version)."""
        await self.session.execute(
            update(secrets)
            .where(secrets.c.tenant_id == tenant_id, secrets.c.name == name)
            .values(value=value, key_id=key_id)
        )
