"""Templates and their revisions (RLS confines every statement to the tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import and_, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_catalog.domain.templates import Template
from agentsuite_catalog.repositories.tables import template_revisions, templates
from agentsuite_contracts.catalog import CatalogStatus, TemplateSpec
from agentsuite_kit.db import Repository
from agentsuite_kit.http.pagination import CursorValue

REVISIONS = template_revisions
# a template with its newest revision
_NEWEST = select(
    templates.c.id,
    templates.c.tenant_id,
    templates.c.deprecated,
    templates.c.created_at,
    templates.c.updated_at,
    REVISIONS.c.status,
    REVISIONS.c.spec,
).select_from(
    templates.join(
        REVISIONS,
        and_(REVISIONS.c.template_id == templates.c.id, REVISIONS.c.version == templates.c.version),
    )
)


def _template(row: RowMapping) -> Template:
    return Template(
        id=row["id"],
        tenant_id=row["tenant_id"],
        status=CatalogStatus(row["status"]),
        spec=TemplateSpec.model_validate(row["spec"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        deprecated=row["deprecated"],
    )


class Templates(Repository):
    async def add(self, template: Template) -> bool:
        """Save a new template and its first revision; False when its key is taken."""
        made = await self.session.execute(
            pg_insert(templates)
            .values(
                id=template.id,
                tenant_id=template.tenant_id,
                key=template.key,
                version=template.version,
                status=template.status.value,
                created_at=template.created_at,
                updated_at=template.updated_at,
            )
            .on_conflict_do_nothing(constraint="uq_templates_tenant_key")
            .returning(templates.c.id)
        )
        if made.first() is None:
            return False
        await self.add_revision(template)
        return True

    async def add_revision(self, template: Template) -> None:
        await self.session.execute(
            insert(REVISIONS).values(
                template_id=template.id,
                version=template.version,
                tenant_id=template.tenant_id,
                status=template.status.value,
                spec=template.spec.model_dump(mode="json"),
                created_at=template.updated_at,
            )
        )

    async def save(self, template: Template) -> None:
        """The template's head (and its newest revision's status)."""
        await self.session.execute(
            update(templates)
            .where(templates.c.id == template.id)
            .values(
                version=template.version,
                status=template.status.value,
                deprecated=template.deprecated,
                updated_at=template.updated_at,
            )
        )
        await self.session.execute(
            update(REVISIONS)
            .where(REVISIONS.c.template_id == template.id, REVISIONS.c.version == template.version)
            .values(status=template.status.value)
        )

    async def get(self, template_id: UUID, *, lock: bool = False) -> Template | None:
        query = _NEWEST.where(templates.c.id == template_id)
        if lock:
            query = query.with_for_update(of=templates)
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else _template(row)

    async def revision(
        self, template_id: UUID, version: int
    ) -> tuple[TemplateSpec, CatalogStatus] | None:
        row = (
            await self.session.execute(
                select(REVISIONS.c.spec, REVISIONS.c.status).where(
                    REVISIONS.c.template_id == template_id, REVISIONS.c.version == version
                )
            )
        ).first()
        if row is None:
            return None
        return TemplateSpec.model_validate(row.spec), CatalogStatus(row.status)

    async def newest_published(self, template_id: UUID) -> TemplateSpec | None:
        """The highest published revision: what planning instantiates."""
        spec = await self.session.scalar(
            select(REVISIONS.c.spec)
            .where(
                REVISIONS.c.template_id == template_id,
                REVISIONS.c.status == CatalogStatus.PUBLISHED.value,
            )
            .order_by(REVISIONS.c.version.desc())
            .limit(1)
        )
        return None if spec is None else TemplateSpec.model_validate(spec)

    async def page(self, after: Sequence[CursorValue] | None, limit: int) -> list[Template]:
        query = _NEWEST.order_by(templates.c.key).limit(limit + 1)
        if after is not None:
            query = query.where(templates.c.key > after[0])
        return [_template(r) for r in (await self.session.execute(query)).mappings()]
