"""Providers, models and their price lists (owner: catalogue admin)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Table, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.exc import IntegrityError

from agentsuite_kit.db.repository import Repository, keyset
from agentsuite_llm_gateway.repositories.tables import models, prices, providers


async def _one(repo: Repository, query: Any) -> RowMapping | None:
    return (await repo.session.execute(query)).mappings().first()


async def _rows(repo: Repository, query: Any) -> list[RowMapping]:
    return list((await repo.session.execute(query)).mappings().all())


async def _change(
    repo: Repository, table: Table, where: Any, values: dict[str, Any]
) -> RowMapping | None:
    """The row as changed (version bumped), or None when a rename hit the tenant's unique
    name: a concurrent writer took it between the handler's check and this update (the
    transaction is then aborted, and the handler answers 409)."""
    query = (
        update(table)
        .where(where)
        .values(**values, version=table.c.version + 1, updated_at=func.now())
        .returning(table)
    )
    try:
        return (await repo.session.execute(query)).mappings().one()
    except IntegrityError as exc:
        if "uq_" in str(exc.orig):
            return None
        raise


class Providers(Repository):
    async def add(self, provider_id: UUID, tenant_id: UUID, **values: Any) -> bool:
        """False when the tenant already has a provider of that name."""
        done = await self.session.scalar(
            pg_insert(providers)
            .values(provider_id=provider_id, tenant_id=tenant_id, **values)
            .on_conflict_do_nothing()
            .returning(providers.c.provider_id)
        )
        return done is not None

    async def get(self, provider_id: UUID, *, lock: bool = False) -> RowMapping | None:
        query = select(providers).where(providers.c.provider_id == provider_id)
        return await _one(self, query.with_for_update() if lock else query)

    async def named(self, name: str) -> RowMapping | None:
        return await _one(self, select(providers).where(providers.c.name == name))

    async def page(self, after: Sequence[Any] | None, limit: int) -> list[RowMapping]:
        """Up to `limit + 1` rows in (created_at, id) order after the cursor's pair."""
        key = (providers.c.created_at, providers.c.provider_id)
        return await _rows(self, keyset(select(providers), key, after, limit))

    async def change(self, provider_id: UUID, **values: Any) -> RowMapping | None:
        return await _change(self, providers, providers.c.provider_id == provider_id, values)

    async def remove(self, provider_id: UUID) -> None:
        """With its models and their prices (FK cascade)."""
        await self.session.execute(delete(providers).where(providers.c.provider_id == provider_id))

    async def all(self) -> list[RowMapping]:
        """Every provider of the tenant (the catalogue loader)."""
        return await _rows(self, select(providers))

    async def stale_credentials(
        self, active_key: str, limit: int, after: UUID | None = None
    ) -> list[RowMapping]:
        """Rows whose credential is under another key than `active_key`, in id order after
        `after`, locked (skipping rows another worker holds). In an all-tenants unit of
        work: every tenant's."""
        query = (
            select(
                providers.c.provider_id,
                providers.c.tenant_id,
                providers.c.credential,
                providers.c.credential_key_id,
            )
            .where(
                providers.c.credential.is_not(None),
                providers.c.credential_key_id != active_key,
            )
            .order_by(providers.c.provider_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        if after is not None:
            query = query.where(providers.c.provider_id > after)
        return await _rows(self, query)

    async def reseal(self, provider_id: UUID, credential: bytes, key_id: str) -> None:
        """The same secret under another key: not a change of the provider (no version)."""
        await self.session.execute(
            update(providers)
            .where(providers.c.provider_id == provider_id)
            .values(credential=credential, credential_key_id=key_id)
        )


class Models(Repository):
    async def add(self, model_id: UUID, tenant_id: UUID, provider_id: UUID, **values: Any) -> bool:
        """False when the tenant already has a model of that name."""
        done = await self.session.scalar(
            pg_insert(models)
            .values(model_id=model_id, tenant_id=tenant_id, provider_id=provider_id, **values)
            .on_conflict_do_nothing()
            .returning(models.c.model_id)
        )
        return done is not None

    async def get(
        self, provider_id: UUID, model_id: UUID, *, lock: bool = False
    ) -> RowMapping | None:
        query = select(models).where(
            models.c.model_id == model_id, models.c.provider_id == provider_id
        )
        return await _one(self, query.with_for_update() if lock else query)

    async def name_taken(self, name: str) -> bool:
        found = await self.session.scalar(select(models.c.model_id).where(models.c.name == name))
        return found is not None

    async def page(
        self, provider_id: UUID, after: Sequence[Any] | None, limit: int
    ) -> list[RowMapping]:
        query = select(models).where(models.c.provider_id == provider_id)
        key = (models.c.created_at, models.c.model_id)
        return await _rows(self, keyset(query, key, after, limit))

    async def of_provider(self, provider_id: UUID) -> list[RowMapping]:
        return await _rows(self, select(models).where(models.c.provider_id == provider_id))

    async def change(self, model_id: UUID, **values: Any) -> RowMapping | None:
        return await _change(self, models, models.c.model_id == model_id, values)

    async def remove(self, model_id: UUID) -> None:
        await self.session.execute(delete(models).where(models.c.model_id == model_id))

    async def all(self) -> list[RowMapping]:
        return await _rows(self, select(models))


class Prices(Repository):
    async def add(
        self,
        price_id: UUID,
        tenant_id: UUID,
        model_id: UUID,
        effective_from: datetime | None,
        **values: Any,
    ) -> bool:
        """False when the model already has a price from that instant (None: from the
        transaction's now, so it is the one in force for the rest of the transaction)."""
        when = func.now() if effective_from is None else effective_from
        done = await self.session.scalar(
            pg_insert(prices)
            .values(
                price_id=price_id,
                tenant_id=tenant_id,
                model_id=model_id,
                effective_from=when,
                **values,
            )
            .on_conflict_do_nothing()
            .returning(prices.c.price_id)
        )
        return done is not None

    async def get(self, price_id: UUID) -> RowMapping | None:
        return await _one(self, select(prices).where(prices.c.price_id == price_id))

    async def page(
        self, model_id: UUID, after: Sequence[Any] | None, limit: int
    ) -> list[RowMapping]:
        """The versions in effective_from order (oldest first)."""
        query = select(prices).where(prices.c.model_id == model_id)
        key = (prices.c.effective_from, prices.c.price_id)
        return await _rows(self, keyset(query, key, after, limit))

    async def in_force(self, model_id: UUID, at: datetime | None = None) -> RowMapping | None:
        """The version in force at `at` (default: the database's now)."""
        when = func.now() if at is None else at
        query = (
            select(prices)
            .where(prices.c.model_id == model_id, prices.c.effective_from <= when)
            .order_by(prices.c.effective_from.desc())
            .limit(1)
        )
        return await _one(self, query)

    async def all(self) -> list[RowMapping]:
        return await _rows(self, select(prices).order_by(prices.c.effective_from))
