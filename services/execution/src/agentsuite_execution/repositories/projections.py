"""Projections of other services' events: approved plans, published tools, agent
revisions, model prices. Written by `handlers.projections`, read by the engine.

Every write is idempotent and order-tolerant: an event redelivered, or applied late
(after a newer one, from a retry tier or another topic), never takes state back.
Immutable facts (an approved plan version, a published tool version) are inserted once;
mutable rows keep the event time of the last change applied in `updated_at` and take a
change only from an event at least as recent (`ON CONFLICT ... WHERE`).

Reads are per tenant: in an all-tenants unit of work (the engine's claims) pass
`tenant_id`, else the rows of every tenant would match.

Plans and model prices here; tools and agents in `repositories.catalog`.
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_execution.domain.catalog import Price
from agentsuite_execution.repositories.catalog import Agents, Tools, first, tenant_of
from agentsuite_execution.repositories.projected import model_prices, plan_versions, plans
from agentsuite_kit.db.repository import Repository

__all__ = ["Agents", "Models", "Plans", "Tools"]


class Plans(Repository):
    async def approve(
        self,
        plan: PlanSnapshot,
        version: int,
        approved_by: UUID | None,
        at: datetime,
    ) -> None:
        """Store `plan` as approved `version`; the plan's latest approved version only
        ever rises."""
        tenant = tenant_of(self)
        await self.session.execute(
            pg_insert(plan_versions)
            .values(
                tenant_id=tenant,
                plan_id=plan.plan_id,
                version=version,
                name=plan.name,
                snapshot=plan.model_dump(mode="json"),
                approved_by=approved_by,
                approved_at=at,
            )
            # an approved version is immutable: a redelivery changes nothing
            .on_conflict_do_nothing()
        )
        head = pg_insert(plans).values(
            tenant_id=tenant,
            plan_id=plan.plan_id,
            latest_approved=version,
            approved_at=at,
            updated_at=at,
        )
        # greatest() skips nulls: each column keeps the newest of what was applied
        await self.session.execute(
            head.on_conflict_do_update(
                index_elements=[plans.c.tenant_id, plans.c.plan_id],
                set_={
                    "latest_approved": func.greatest(
                        plans.c.latest_approved, head.excluded.latest_approved
                    ),
                    "approved_at": func.greatest(plans.c.approved_at, head.excluded.approved_at),
                    "updated_at": func.greatest(plans.c.updated_at, head.excluded.updated_at),
                },
            )
        )

    async def mark_stale(self, plan_id: UUID, at: datetime) -> None:
        """The plan went stale at `at`: until an approval newer than that, no new run. A
        stale event older than the newest approval (late, redelivered) changes nothing,
        as `stale` compares the two times; one before any approval leaves a row behind."""
        row = pg_insert(plans).values(
            tenant_id=tenant_of(self), plan_id=plan_id, stale_at=at, updated_at=at
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[plans.c.tenant_id, plans.c.plan_id],
                set_={
                    "stale_at": func.greatest(plans.c.stale_at, row.excluded.stale_at),
                    "updated_at": func.greatest(plans.c.updated_at, row.excluded.updated_at),
                },
            )
        )

    async def archive(self, plan_id: UUID, at: datetime) -> None:
        """For good: an approval applied later does not bring the plan back."""
        row = pg_insert(plans).values(
            tenant_id=tenant_of(self), plan_id=plan_id, archived=True, updated_at=at
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[plans.c.tenant_id, plans.c.plan_id],
                set_={
                    "archived": true(),
                    "updated_at": func.greatest(plans.c.updated_at, row.excluded.updated_at),
                },
            )
        )

    async def approved(
        self, plan_id: UUID, version: int | None, *, tenant_id: UUID | None = None
    ) -> PlanSnapshot | None:
        """Approved `version` (None: the latest approved); None when unknown, not
        approved, or the plan is archived."""
        found = await self.runnable(plan_id, version, tenant_id=tenant_id)
        return None if found is None else found[0]

    async def runnable(
        self, plan_id: UUID, version: int | None, *, tenant_id: UUID | None = None
    ) -> tuple[PlanSnapshot, bool] | None:
        """As `approved`, with whether the plan is stale (`planning.plan.stale` not
        followed by a newer approval), in one read."""
        tenant = tenant_of(self, tenant_id)
        wanted = plans.c.latest_approved if version is None else version
        stale = and_(
            plans.c.stale_at.is_not(None),
            or_(plans.c.approved_at.is_(None), plans.c.stale_at >= plans.c.approved_at),
        )
        query = (
            select(plan_versions.c.snapshot, stale.label("stale"))
            .select_from(
                plans.join(
                    plan_versions,
                    and_(
                        plan_versions.c.tenant_id == plans.c.tenant_id,
                        plan_versions.c.plan_id == plans.c.plan_id,
                        plan_versions.c.version == wanted,
                    ),
                )
            )
            .where(
                plans.c.tenant_id == tenant,
                plans.c.plan_id == plan_id,
                plans.c.archived.is_(false()),
            )
        )
        row = (await self.session.execute(query)).first()
        if row is None:
            return None
        return PlanSnapshot.model_validate(row.snapshot), bool(row.stale)

    async def archived(self, plan_id: UUID, *, tenant_id: UUID | None = None) -> bool:
        query = select(plans.c.archived).where(
            plans.c.tenant_id == tenant_of(self, tenant_id), plans.c.plan_id == plan_id
        )
        return bool(await self.session.scalar(query))


class Models(Repository):
    async def register(self, price: Price, at: datetime) -> None:
        """The model's price, routed again if it was retired earlier."""
        row = pg_insert(model_prices).values(
            tenant_id=tenant_of(self),
            model=price.model,
            input_micros=price.input_micros,
            output_micros=price.output_micros,
            currency=price.currency,
            retired=False,
            updated_at=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[model_prices.c.tenant_id, model_prices.c.model],
                set_={
                    "input_micros": row.excluded.input_micros,
                    "output_micros": row.excluded.output_micros,
                    "currency": row.excluded.currency,
                    "retired": false(),
                    "updated_at": row.excluded.updated_at,
                },
                where=model_prices.c.updated_at <= row.excluded.updated_at,
            )
        )

    async def retire(self, model: str, at: datetime) -> None:
        # before any registration: a row without a price, so an older registration
        # applied later cannot bring the model back
        row = pg_insert(model_prices).values(
            tenant_id=tenant_of(self),
            model=model,
            input_micros=0,
            output_micros=0,
            currency="USD",
            retired=True,
            updated_at=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[model_prices.c.tenant_id, model_prices.c.model],
                set_={"retired": true(), "updated_at": row.excluded.updated_at},
                where=model_prices.c.updated_at <= row.excluded.updated_at,
            )
        )

    async def price(self, model: str, *, tenant_id: UUID | None = None) -> Price | None:
        """None for a model not (or no longer) routed: estimates use the default price."""
        query = select(model_prices).where(
            model_prices.c.tenant_id == tenant_of(self, tenant_id),
            model_prices.c.model == model,
            model_prices.c.retired.is_(false()),
        )
        return _price(await first(self, query))

    async def highest(self, *, tenant_id: UUID | None = None) -> Price | None:
        """The dearest routed model by output price: the estimate when routing picks."""
        query = (
            select(model_prices)
            .where(
                model_prices.c.tenant_id == tenant_of(self, tenant_id),
                model_prices.c.retired.is_(false()),
            )
            .order_by(
                model_prices.c.output_micros.desc(),
                model_prices.c.input_micros.desc(),
                model_prices.c.model,
            )
            .limit(1)
        )
        return _price(await first(self, query))


def _price(row: RowMapping | None) -> Price | None:
    if row is None:
        return None
    return Price(
        model=row["model"],
        input_micros=row["input_micros"],
        output_micros=row["output_micros"],
        currency=row["currency"],
    )
