"""Projections of other services' events: approved plans, published tools, agent
revisions, model prices. Written by `handlers.projections`, read by the engine.

Every write is idempotent and order-tolerant: an event redelivered, or applied late
(after a newer one, from a retry tier or another topic), never takes state back.
Immutable facts (an approved plan version, a published tool version) are inserted once;
mutable rows keep the event time of the last change applied in `updated_at` and take a
change only from an event at least as recent (`ON CONFLICT ... WHERE`).

Reads are per tenant: in an all-tenants unit of work (the engine's claims) pass
`tenant_id`, else the rows of every tenant would match.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, exists, false, func, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.catalog import AgentSpec, CatalogStatus, ToolSpec
from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_execution.domain.catalog import AgentRecord, Price, ToolHead, ToolRecord
from agentsuite_execution.repositories.tables import (
    agents,
    model_prices,
    plan_versions,
    plans,
    tool_heads,
    tools,
)
from agentsuite_kit.db.repository import Repository

DEPRECATED = CatalogStatus.DEPRECATED.value
# Deprecations have no row of their own in this schema; their time is kept as a row no
# event can carry: a tool "version" '' and an agent revision 0 (revisions count from 1).
# Events applied late are ordered against it (see `ToolHead`, `Agents.revise`).
DEPRECATION = ""
MARK = 0


def _tenant(repo: Repository, given: UUID | None = None) -> UUID:
    tenant: UUID | None = given or repo.session.info["tenant"]
    if tenant is None:
        raise ValueError(
            "projections are per tenant: use a tenant's unit of work or pass tenant_id"
        )
    return tenant


async def _first(repo: Repository, query: Any) -> RowMapping | None:
    return (await repo.session.execute(query)).mappings().first()


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
        tenant = _tenant(self)
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
            tenant_id=tenant, plan_id=plan.plan_id, latest_approved=version, updated_at=at
        )
        await self.session.execute(
            head.on_conflict_do_update(
                index_elements=[plans.c.tenant_id, plans.c.plan_id],
                set_={
                    "latest_approved": head.excluded.latest_approved,
                    "updated_at": func.greatest(plans.c.updated_at, head.excluded.updated_at),
                },
                where=or_(
                    plans.c.latest_approved.is_(None),
                    plans.c.latest_approved < head.excluded.latest_approved,
                ),
            )
        )

    async def archive(self, plan_id: UUID, at: datetime) -> None:
        """For good: an approval applied later does not bring the plan back."""
        row = pg_insert(plans).values(
            tenant_id=_tenant(self), plan_id=plan_id, archived=True, updated_at=at
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
        tenant = _tenant(self, tenant_id)
        wanted = plans.c.latest_approved if version is None else version
        query = (
            select(plan_versions.c.snapshot)
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
        snapshot = await self.session.scalar(query)
        if snapshot is None:
            return None
        return PlanSnapshot.model_validate(snapshot)

    async def archived(self, plan_id: UUID, *, tenant_id: UUID | None = None) -> bool:
        query = select(plans.c.archived).where(
            plans.c.tenant_id == _tenant(self, tenant_id), plans.c.plan_id == plan_id
        )
        return bool(await self.session.scalar(query))


class Tools(Repository):
    async def add_version(
        self, tool_id: UUID, tool_version_id: UUID, spec: ToolSpec, at: datetime
    ) -> None:
        """A published version is frozen: the first copy stored stays."""
        await self.session.execute(
            pg_insert(tools)
            .values(
                tenant_id=_tenant(self),
                name=spec.name,
                version=spec.version,
                tool_id=tool_id,
                tool_version_id=tool_version_id,
                spec=spec.model_dump(mode="json"),
                published_at=at,
            )
            .on_conflict_do_nothing()
        )

    async def publish(self, tool_id: UUID, name: str, version: str, at: datetime) -> None:
        head = await self._head(name)
        await self._store(tool_id, name, head, head.publish(version, at))

    async def deprecate(
        self, tool_id: UUID, name: str, sunset_at: datetime | None, at: datetime
    ) -> None:
        head = await self._head(name)
        await self._store(tool_id, name, head, head.deprecate(sunset_at, at))

    async def _head(self, name: str) -> ToolHead:
        """The head as stored, locked until the transaction ends (the default when none)."""
        query = (
            select(
                tool_heads.c.version,
                tool_heads.c.updated_at,
                tool_heads.c.deprecated,
                tool_heads.c.sunset_at,
                tools.c.published_at.label("deprecated_at"),
            )
            .select_from(
                tool_heads.outerjoin(
                    tools,
                    and_(
                        tools.c.tenant_id == tool_heads.c.tenant_id,
                        tools.c.name == tool_heads.c.name,
                        tools.c.version == DEPRECATION,
                    ),
                )
            )
            .where(tool_heads.c.tenant_id == _tenant(self), tool_heads.c.name == name)
            .with_for_update(of=tool_heads)
        )
        row = await _first(self, query)
        if row is None:
            return ToolHead()
        return ToolHead(
            version=row["version"],
            # while no publication set a version, `updated_at` is the deprecation's
            published_at=row["updated_at"] if row["version"] is not None else None,
            deprecated=row["deprecated"],
            sunset_at=row["sunset_at"],
            deprecated_at=row["deprecated_at"],
        )

    async def _store(self, tool_id: UUID, name: str, old: ToolHead, new: ToolHead) -> None:
        if new == old:
            return
        tenant = _tenant(self)
        at = new.published_at or new.deprecated_at
        row = pg_insert(tool_heads).values(
            tenant_id=tenant,
            name=name,
            tool_id=tool_id,
            version=new.version,
            deprecated=new.deprecated,
            sunset_at=new.sunset_at,
            updated_at=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[tool_heads.c.tenant_id, tool_heads.c.name],
                set_={
                    "tool_id": row.excluded.tool_id,
                    "version": row.excluded.version,
                    "deprecated": row.excluded.deprecated,
                    "sunset_at": row.excluded.sunset_at,
                    "updated_at": row.excluded.updated_at,
                },
            )
        )
        if new.deprecated_at != old.deprecated_at:
            mark = pg_insert(tools).values(
                tenant_id=tenant,
                name=name,
                version=DEPRECATION,
                tool_id=tool_id,
                tool_version_id=tool_id,
                spec={},
                published_at=new.deprecated_at,
            )
            await self.session.execute(
                mark.on_conflict_do_update(
                    index_elements=[tools.c.tenant_id, tools.c.name, tools.c.version],
                    set_={"published_at": mark.excluded.published_at},
                )
            )

    async def resolve(
        self, name: str, version: str | None, *, tenant_id: UUID | None = None
    ) -> ToolRecord | None:
        """Version `version` of tool `name` (None: the head version); None when unknown,
        or when the tool is deprecated and past its sunset."""
        tenant = _tenant(self, tenant_id)
        on = and_(tool_heads.c.tenant_id == tools.c.tenant_id, tool_heads.c.name == tools.c.name)
        query = select(
            tools.c.tool_id,
            tools.c.tool_version_id,
            tools.c.name,
            tools.c.version,
            tools.c.spec,
            func.coalesce(tool_heads.c.deprecated, false()).label("deprecated"),
            tool_heads.c.sunset_at,
        ).where(tools.c.tenant_id == tenant, tools.c.name == name)
        if version is None:
            query = query.select_from(
                tools.join(tool_heads, and_(on, tool_heads.c.version == tools.c.version))
            )
        else:
            query = query.select_from(tools.outerjoin(tool_heads, on)).where(
                tools.c.version == version, tools.c.version != DEPRECATION
            )
        row = await _first(self, query)
        if row is None:
            return None
        record = ToolRecord(
            tool_id=row["tool_id"],
            tool_version_id=row["tool_version_id"],
            name=row["name"],
            version=row["version"],
            spec=ToolSpec.model_validate(row["spec"]),
            deprecated=row["deprecated"],
            sunset_at=row["sunset_at"],
        )
        return None if record.sunset(datetime.now(UTC)) else record


class Agents(Repository):
    async def revise(self, agent_id: UUID, spec: AgentSpec, status: str, at: datetime) -> None:
        """Store revision `spec.version` with its status; deprecated if the agent was
        deprecated after this event (it arrived late)."""
        deprecated_since = exists().where(
            agents.c.agent_id == agent_id,
            agents.c.status == DEPRECATED,
            agents.c.updated_at > at,
        )
        row = pg_insert(agents).values(
            tenant_id=_tenant(self),
            name=spec.name,
            version=spec.version,
            agent_id=agent_id,
            status=case((deprecated_since, DEPRECATED), else_=status),
            spec=spec.model_dump(mode="json"),
            updated_at=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[agents.c.tenant_id, agents.c.name, agents.c.version],
                set_={
                    "agent_id": row.excluded.agent_id,
                    "status": row.excluded.status,
                    "spec": row.excluded.spec,
                    "updated_at": row.excluded.updated_at,
                },
                where=agents.c.updated_at <= row.excluded.updated_at,
            )
        )

    async def deprecate(self, agent_id: UUID, name: str, at: datetime) -> None:
        """Every revision known so far, and the mark later revisions are checked against."""
        await self.session.execute(
            update(agents)
            .where(agents.c.agent_id == agent_id, agents.c.updated_at <= at)
            .values(status=DEPRECATED, updated_at=at)
        )
        mark = pg_insert(agents).values(
            tenant_id=_tenant(self),
            name=name,
            version=MARK,
            agent_id=agent_id,
            status=DEPRECATED,
            spec={},
            updated_at=at,
        )
        await self.session.execute(
            mark.on_conflict_do_update(
                index_elements=[agents.c.tenant_id, agents.c.name, agents.c.version],
                set_={"updated_at": func.greatest(agents.c.updated_at, mark.excluded.updated_at)},
            )
        )

    async def resolve(
        self, name: str, version: int | None, *, tenant_id: UUID | None = None
    ) -> AgentRecord | None:
        """Revision `version` whatever its status (None: the newest published one)."""
        query = select(agents).where(
            agents.c.tenant_id == _tenant(self, tenant_id),
            agents.c.name == name,
            agents.c.version > MARK,
        )
        if version is None:
            query = (
                query.where(agents.c.status == CatalogStatus.PUBLISHED.value)
                .order_by(agents.c.version.desc())
                .limit(1)
            )
        else:
            query = query.where(agents.c.version == version)
        row = await _first(self, query)
        if row is None:
            return None
        return AgentRecord(
            agent_id=row["agent_id"],
            name=row["name"],
            version=row["version"],
            spec=AgentSpec.model_validate(row["spec"]),
            status=row["status"],
        )


class Models(Repository):
    async def register(self, price: Price, at: datetime) -> None:
        """The model's price, routed again if it was retired earlier."""
        row = pg_insert(model_prices).values(
            tenant_id=_tenant(self),
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
            tenant_id=_tenant(self),
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
            model_prices.c.tenant_id == _tenant(self, tenant_id),
            model_prices.c.model == model,
            model_prices.c.retired.is_(false()),
        )
        return _price(await _first(self, query))

    async def highest(self, *, tenant_id: UUID | None = None) -> Price | None:
        """The dearest routed model by output price: the estimate when routing picks."""
        query = (
            select(model_prices)
            .where(
                model_prices.c.tenant_id == _tenant(self, tenant_id),
                model_prices.c.retired.is_(false()),
            )
            .order_by(
                model_prices.c.output_micros.desc(),
                model_prices.c.input_micros.desc(),
                model_prices.c.model,
            )
            .limit(1)
        )
        return _price(await _first(self, query))


def _price(row: RowMapping | None) -> Price | None:
    if row is None:
        return None
    return Price(
        model=row["model"],
        input_micros=row["input_micros"],
        output_micros=row["output_micros"],
        currency=row["currency"],
    )
