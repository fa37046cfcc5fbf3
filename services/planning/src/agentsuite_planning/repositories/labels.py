"""Labels and every move of one (RLS confines every statement to the unit of work's tenant)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, func, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.ids import uuid7
from agentsuite_kit.db import Repository
from agentsuite_planning.repositories.tables import label_moves, plan_labels


@dataclass(frozen=True, slots=True)
class LabelRow:
    plan_id: UUID
    name: str
    version: int
    revision: int
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class MoveRow:
    id: UUID
    plan_id: UUID
    label: str
    from_version: int | None
    to_version: int | None
    moved_by: str
    reason: str | None
    at: datetime


_LABEL = select(*(plan_labels.c[f] for f in LabelRow.__slots__))
_MOVE = select(*(label_moves.c[f] for f in MoveRow.__slots__))


def _label(row: Any) -> LabelRow:
    return LabelRow(*(getattr(row, f) for f in LabelRow.__slots__))


class Labels(Repository):
    async def get(self, plan_id: UUID, name: str) -> LabelRow | None:
        query = _LABEL.where(plan_labels.c.plan_id == plan_id, plan_labels.c.name == name)
        row = (await self.session.execute(query.with_for_update())).first()
        return None if row is None else _label(row)

    async def page(self, plan_id: UUID, after: str | None, limit: int) -> list[LabelRow]:
        query = (
            _LABEL.where(plan_labels.c.plan_id == plan_id)
            .order_by(plan_labels.c.name)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(plan_labels.c.name > after)
        return [_label(r) for r in await self.session.execute(query)]

    async def of_plan(self, plan_id: UUID, limit: int) -> list[LabelRow]:
        query = _LABEL.where(plan_labels.c.plan_id == plan_id).order_by(plan_labels.c.name)
        return [_label(r) for r in await self.session.execute(query.limit(limit))]

    async def put(self, tenant_id: UUID, plan_id: UUID, name: str, version: int) -> LabelRow:
        """Point the label at `version` (made if new), its revision bumped."""
        stmt = pg_insert(plan_labels).values(
            tenant_id=tenant_id, plan_id=plan_id, name=name, version=version
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[plan_labels.c.plan_id, plan_labels.c.name],
            set_={
                "version": version,
                "revision": plan_labels.c.revision + 1,
                "updated_at": func.now(),
            },
        )
        row = (await self.session.execute(stmt.returning(*_LABEL.selected_columns))).one()
        return _label(row)

    async def remove(self, plan_id: UUID, name: str) -> None:
        await self.session.execute(
            delete(plan_labels).where(plan_labels.c.plan_id == plan_id, plan_labels.c.name == name)
        )

    async def record(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(label_moves), {"id": uuid7(), **values})

    async def moves(
        self, plan_id: UUID, name: str, after: UUID | None, limit: int
    ) -> list[MoveRow]:
        """Up to `limit + 1` moves of the label, oldest first (ids are time-ordered)."""
        query = (
            _MOVE.where(label_moves.c.plan_id == plan_id, label_moves.c.label == name)
            .order_by(label_moves.c.id)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(label_moves.c.id > after)
        rows = await self.session.execute(query)
        return [MoveRow(*(getattr(r, f) for f in MoveRow.__slots__)) for r in rows]
