"""Plans and their versions (RLS confines every statement to the unit of work's tenant)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, insert, select, update

from agentsuite_kit.db import Repository
from agentsuite_planning.repositories.tables import plan_versions, plans


@dataclass(frozen=True, slots=True)
class PlanRow:
    id: UUID
    tenant_id: UUID
    name: str
    status: str
    head: int
    approved_version: int | None
    stale: bool
    source_kind: str
    source_id: str | None
    gaps: bool
    created_by: str
    revision: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class VersionRow:
    plan_id: UUID
    version: int
    body: dict[str, Any]
    author: str
    reason: str
    validation: dict[str, Any] | None
    approved_by: str | None
    approved_at: datetime | None
    pinned: dict[str, Any] | None
    created_at: datetime


_PLAN = select(*(plans.c[f] for f in PlanRow.__slots__))
_VERSION = select(*(plan_versions.c[f] for f in VersionRow.__slots__))


def _plan(row: Any) -> PlanRow:
    return PlanRow(*(getattr(row, f) for f in PlanRow.__slots__))


def _version(row: Any) -> VersionRow:
    return VersionRow(*(getattr(row, f) for f in VersionRow.__slots__))


class Plans(Repository):
    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(plans), values)

    async def get(self, plan_id: UUID, *, lock: bool = False) -> PlanRow | None:
        """The plan, or None (another tenant's is None too: RLS hides it); `lock` holds
        it until commit so two edits or approvals of one plan run one after the other."""
        query = _PLAN.where(plans.c.id == plan_id)
        row = (await self.session.execute(query.with_for_update() if lock else query)).first()
        return None if row is None else _plan(row)

    async def page(
        self, after: UUID | None, limit: int, status: str | None, source_id: str | None
    ) -> list[PlanRow]:
        """Up to `limit + 1` plans by id after `after` (the extra one proves a next page)."""
        query = _PLAN.order_by(plans.c.id).limit(limit + 1)
        if after is not None:
            query = query.where(plans.c.id > after)
        if status is not None:
            query = query.where(plans.c.status == status)
        if source_id is not None:
            query = query.where(plans.c.source_id == source_id)
        return [_plan(r) for r in await self.session.execute(query)]

    async def change(self, plan_id: UUID, **values: Any) -> None:
        """Set `values` and bump the revision (the plan's ETag)."""
        await self.session.execute(
            update(plans)
            .where(plans.c.id == plan_id)
            .values(**values, revision=plans.c.revision + 1, updated_at=func.now())
        )


class Versions(Repository):
    async def add(self, values: dict[str, Any]) -> VersionRow:
        row = (
            await self.session.execute(
                insert(plan_versions).values(values).returning(*_VERSION.selected_columns)
            )
        ).one()
        return _version(row)

    async def get(self, plan_id: UUID, version: int) -> VersionRow | None:
        query = _VERSION.where(
            plan_versions.c.plan_id == plan_id, plan_versions.c.version == version
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else _version(row)

    async def page(self, plan_id: UUID, after: int | None, limit: int) -> list[VersionRow]:
        """Up to `limit + 1` versions, newest first, before `after`."""
        query = (
            _VERSION.where(plan_versions.c.plan_id == plan_id)
            .order_by(plan_versions.c.version.desc())
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(plan_versions.c.version < after)
        return [_version(r) for r in await self.session.execute(query)]

    async def set_validation(self, plan_id: UUID, version: int, result: dict[str, Any]) -> None:
        await self.session.execute(
            update(plan_versions)
            .where(plan_versions.c.plan_id == plan_id, plan_versions.c.version == version)
            .values(validation=result)
        )

    async def approve(
        self, plan_id: UUID, version: int, by: str, pinned: dict[str, Any], result: dict[str, Any]
    ) -> None:
        await self.session.execute(
            update(plan_versions)
            .where(plan_versions.c.plan_id == plan_id, plan_versions.c.version == version)
            .values(approved_by=by, approved_at=func.now(), pinned=pinned, validation=result)
        )

    async def approved(self, plan_ids: frozenset[UUID]) -> dict[UUID, frozenset[int]]:
        """The approved versions of these plans (subplan references), bounded by the set."""
        if not plan_ids:
            return {}
        rows = await self.session.execute(
            select(plan_versions.c.plan_id, plan_versions.c.version).where(
                plan_versions.c.plan_id.in_(plan_ids), plan_versions.c.approved_at.is_not(None)
            )
        )
        found: dict[UUID, set[int]] = {}
        for r in rows:
            found.setdefault(r.plan_id, set()).add(r.version)
        return {k: frozenset(v) for k, v in found.items()}
