"""Objectives: each version a row; the newest is the objective (RLS: the tenant's only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_discovery.repositories.tables import objectives
from agentsuite_kit.db import Repository

c = objectives.c


@dataclass(frozen=True, slots=True)
class StoredObjective:
    key: str
    version: int
    title: str
    body: dict[str, Any]
    created_at: datetime | None


def _of(row: Any) -> StoredObjective:
    return StoredObjective(row.key, row.version, row.title, dict(row.body), row.created_at)


_COLUMNS = (c.key, c.version, c.title, c.body, c.created_at)


class Objectives(Repository):
    async def add(
        self, key: str, version: int, title: str, body: Mapping[str, Any], created_by: str | None
    ) -> bool:
        """Store a version; False when that version exists already (a concurrent writer)."""
        done = await self.session.execute(
            pg_insert(objectives)
            .values(
                tenant_id=self.session.info["tenant"],
                key=key,
                version=version,
                title=title,
                body=dict(body),
                created_by=created_by,
            )
            .on_conflict_do_nothing()
            .returning(c.version)
        )
        return done.first() is not None

    async def newest(self, key: str) -> StoredObjective | None:
        row = (
            await self.session.execute(
                select(*_COLUMNS).where(c.key == key).order_by(c.version.desc()).limit(1)
            )
        ).first()
        return None if row is None else _of(row)

    async def get(self, key: str, version: int) -> StoredObjective | None:
        row = (
            await self.session.execute(select(*_COLUMNS).where(c.key == key, c.version == version))
        ).first()
        return None if row is None else _of(row)

    async def page(self, after: str | None, limit: int) -> Sequence[StoredObjective]:
        """The newest version of each objective by key, after `after`, `limit + 1` rows."""
        newest = select(c.key, func.max(c.version).label("version")).group_by(c.key).subquery()
        query = (
            select(*_COLUMNS)
            .join(newest, (newest.c.key == c.key) & (newest.c.version == c.version))
            .order_by(c.key)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(c.key > after)
        return [_of(r) for r in (await self.session.execute(query)).all()]
