"""Published templates drafting reads, from plan-feeds' `catalog_templates` projection
(`catalog.templates.v1`): one by key or id, or the candidates a session is matched against.
A row whose spec is unknown (an older publisher sent none) cannot be instantiated: skipped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import ValidationError
from sqlalchemy import Select, select

from agentsuite_contracts.catalog import CatalogStatus, TemplateSpec
from agentsuite_kit.db.repository import Repository, tenant_of
from agentsuite_planning.repositories.tables import catalog_templates

PUBLISHED = CatalogStatus.PUBLISHED.value
t = catalog_templates.c


@dataclass(frozen=True, slots=True)
class TemplateRecord:
    """A published template revision: its catalog id and its spec."""

    id: UUID
    spec: TemplateSpec


def _record(template_id: UUID, spec: object) -> TemplateRecord | None:
    try:
        return TemplateRecord(template_id, TemplateSpec.model_validate(spec))
    except ValidationError:
        return None  # a spec the projection kept from a newer catalog this one cannot read


class Templates(Repository):
    def _published(self) -> Select[tuple[UUID, Any]]:
        return select(t.template_id, t.spec).where(
            t.tenant_id == tenant_of(self), t.status == PUBLISHED, t.spec.is_not(None)
        )

    async def published(self, key_or_id: str) -> TemplateRecord | None:
        """The published template with this key (or id), or None."""
        query = self._published()
        try:
            template_id = UUID(key_or_id)
        except ValueError:
            query = query.where(t.key == key_or_id)
        else:
            query = query.where(t.template_id == template_id)
        row = (await self.session.execute(query.limit(1))).first()
        return None if row is None else _record(row.template_id, row.spec)

    async def candidates(self, limit: int) -> Sequence[TemplateRecord]:
        """Up to `limit` published templates a draft may match, by key."""
        query = self._published().order_by(t.key).limit(max(0, limit))
        rows = (await self.session.execute(query)).all()
        found = (_record(r.template_id, r.spec) for r in rows)
        return [r for r in found if r is not None]
