"""The catalog projection (catalog.tools.v1, catalog.agents.v1, catalog.templates.v1):
what validation, pinning and drafting read.

Every write is idempotent and order-tolerant: the consumer's inbox drops a redelivered
event, and one applied late (a retry tier, a rebalance) never takes a row back. A
published tool version is a frozen fact (inserted once); a mutable row keeps the time of
the event whose state it holds (`as_of`) and takes a change only from a newer one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.catalog import CatalogStatus, TemplateSpec
from agentsuite_kit.db.repository import Repository, tenant_of
from agentsuite_planning.domain.lookup import AgentEntry, Lookup, Refs, ToolEntry, ToolVersion
from agentsuite_planning.repositories.tables import (
    catalog_agent_deprecations,
    catalog_agent_revisions,
    catalog_templates,
    catalog_tool_heads,
    catalog_tool_versions,
)

PUBLISHED = CatalogStatus.PUBLISHED.value
DEPRECATED = CatalogStatus.DEPRECATED.value
# the most published templates drafting reads at once
MAX_TEMPLATES = 500


class Catalog(Repository):
    async def add_tool_version(
        self, name: str, version: str, tool_id: UUID, input_schema: dict[str, Any], at: datetime
    ) -> None:
        """A published version is frozen: the first copy stored stays."""
        await self.session.execute(
            pg_insert(catalog_tool_versions)
            .values(
                tenant_id=tenant_of(self),
                name=name,
                version=version,
                tool_id=tool_id,
                input_schema=input_schema,
                published_at=at,
            )
            .on_conflict_do_nothing()
        )

    async def deprecate_tool_version(
        self, name: str, version: str, tool_id: UUID, input_schema: dict[str, Any], at: datetime
    ) -> None:
        """The event carries the frozen spec: one applied before the version's
        publication stores the version too (that publication then changes nothing)."""
        t = catalog_tool_versions
        row = pg_insert(t).values(
            tenant_id=tenant_of(self),
            name=name,
            version=version,
            tool_id=tool_id,
            input_schema=input_schema,
            published_at=at,
            deprecated_at=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.name, t.c.version],
                set_={
                    "deprecated_at": func.greatest(t.c.deprecated_at, row.excluded.deprecated_at)
                },
            )
        )

    async def put_tool_head(
        self, name: str, tool_id: UUID, latest: str | None, deprecated: bool, at: datetime
    ) -> None:
        """The tool's head as the event of time `at` tells it: `latest` (a publication)
        unless a newer publication was applied, `deprecated` unless any newer event was.
        `latest` None (a deprecation) keeps the version stored."""
        t = catalog_tool_heads
        row = pg_insert(t).values(
            tenant_id=tenant_of(self),
            name=name,
            tool_id=tool_id,
            latest=latest,
            latest_at=None if latest is None else at,
            deprecated=deprecated,
            as_of=at,
        )
        new = row.excluded
        newer_version = and_(
            new.latest.is_not(None), or_(t.c.latest_at.is_(None), t.c.latest_at < new.latest_at)
        )
        newer = t.c.as_of < new.as_of
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.name],
                set_={
                    "tool_id": case((newer, new.tool_id), else_=t.c.tool_id),
                    "latest": case((newer_version, new.latest), else_=t.c.latest),
                    "latest_at": case((newer_version, new.latest_at), else_=t.c.latest_at),
                    "deprecated": case((newer, new.deprecated), else_=t.c.deprecated),
                    "as_of": func.greatest(t.c.as_of, new.as_of),
                },
                where=or_(newer, newer_version),
            )
        )

    async def put_agent_revision(
        self, name: str, revision: int, agent_id: UUID, status: str, at: datetime
    ) -> None:
        """Revision `revision`'s status as of `at`, unless a newer event was applied."""
        t = catalog_agent_revisions
        row = pg_insert(t).values(
            tenant_id=tenant_of(self),
            name=name,
            revision=revision,
            agent_id=agent_id,
            status=status,
            as_of=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.name, t.c.revision],
                set_={
                    "agent_id": row.excluded.agent_id,
                    "status": row.excluded.status,
                    "as_of": row.excluded.as_of,
                },
                where=t.c.as_of < row.excluded.as_of,
            )
        )

    async def deprecate_agent(self, name: str, agent_id: UUID, at: datetime) -> None:
        """The newest deprecation time: the agent is deprecated while no revision was
        published after it (`lookup`)."""
        t = catalog_agent_deprecations
        row = pg_insert(t).values(
            tenant_id=tenant_of(self), name=name, agent_id=agent_id, deprecated_at=at
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.name],
                set_={
                    "agent_id": row.excluded.agent_id,
                    "deprecated_at": row.excluded.deprecated_at,
                },
                where=t.c.deprecated_at < row.excluded.deprecated_at,
            )
        )

    async def put_template(
        self,
        template_id: UUID,
        key: str,
        version: int,
        status: str,
        spec: TemplateSpec | None,
        at: datetime,
    ) -> None:
        """The template as of `at`, unless a newer event was applied; `spec` None (an
        older publisher) keeps the spec stored."""
        t = catalog_templates
        row = pg_insert(t).values(
            tenant_id=tenant_of(self),
            template_id=template_id,
            key=key,
            version=version,
            status=status,
            spec=None if spec is None else spec.model_dump(mode="json"),
            as_of=at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[t.c.tenant_id, t.c.template_id],
                set_={
                    "key": row.excluded.key,
                    "version": row.excluded.version,
                    "status": row.excluded.status,
                    "spec": func.coalesce(row.excluded.spec, t.c.spec),
                    "as_of": row.excluded.as_of,
                },
                where=t.c.as_of < row.excluded.as_of,
            )
        )

    async def published_templates(self, limit: int = MAX_TEMPLATES) -> list[TemplateSpec]:
        """The tenant's published templates whose spec is known, by key."""
        t = catalog_templates
        query = (
            select(t.c.spec)
            .where(t.c.tenant_id == tenant_of(self), t.c.status == PUBLISHED, t.c.spec.is_not(None))
            .order_by(t.c.key)
            .limit(max(0, min(limit, MAX_TEMPLATES)))
        )
        return [TemplateSpec.model_validate(s) for s in await self.session.scalars(query)]

    async def lookup(self, refs: Refs) -> Lookup:
        """The tools and agents `refs` names (an unknown name is absent); `plans` is
        plan-service's to fill."""
        return Lookup(
            tools=await self._tools(sorted(refs.tools)),
            agents=await self._agents(sorted(refs.agents)),
        )

    async def _tools(self, names: Sequence[str]) -> dict[str, ToolEntry]:
        if not names:
            return {}
        tenant = tenant_of(self)
        v, h = catalog_tool_versions, catalog_tool_heads
        versions: dict[str, dict[str, ToolVersion]] = {}
        rows = await self.session.execute(
            select(v.c.name, v.c.version, v.c.deprecated_at, v.c.input_schema).where(
                v.c.tenant_id == tenant, v.c.name.in_(names)
            )
        )
        for row in rows:
            versions.setdefault(row.name, {})[row.version] = ToolVersion(
                version=row.version,
                deprecated=row.deprecated_at is not None,
                input_schema=dict(row.input_schema),
            )
        heads = {
            row.name: row
            for row in await self.session.execute(
                select(h.c.name, h.c.latest, h.c.deprecated).where(
                    h.c.tenant_id == tenant, h.c.name.in_(names)
                )
            )
        }
        found: dict[str, ToolEntry] = {}
        for name in names:
            head = heads.get(name)
            if head is None and name not in versions:
                continue
            found[name] = ToolEntry(
                name=name,
                latest=None if head is None else head.latest,
                deprecated=False if head is None else bool(head.deprecated),
                versions=versions.get(name, {}),
            )
        return found

    async def _agents(self, names: Sequence[str]) -> dict[str, AgentEntry]:
        if not names:
            return {}
        tenant = tenant_of(self)
        r, d = catalog_agent_revisions, catalog_agent_deprecations
        revisions: dict[str, list[Any]] = {}
        rows = await self.session.execute(
            select(r.c.name, r.c.revision, r.c.status, r.c.as_of).where(
                r.c.tenant_id == tenant,
                r.c.name.in_(names),
                r.c.status != CatalogStatus.DRAFT.value,
            )
        )
        for row in rows:
            revisions.setdefault(row.name, []).append(row)
        deprecations = {
            row.name: row.deprecated_at
            for row in await self.session.execute(
                select(d.c.name, d.c.deprecated_at).where(
                    d.c.tenant_id == tenant, d.c.name.in_(names)
                )
            )
        }
        found: dict[str, AgentEntry] = {}
        for name in names:
            known = revisions.get(name, [])
            gone_at = deprecations.get(name)
            if not known and gone_at is None:
                continue
            published = [k for k in known if k.status == PUBLISHED]
            # a revision published after the newest deprecation brought the agent back
            deprecated = gone_at is not None and all(k.as_of <= gone_at for k in published)
            found[name] = AgentEntry(
                name=name,
                latest=max((k.revision for k in published), default=None),
                deprecated=deprecated,
                revisions={k.revision: deprecated or k.status != PUBLISHED for k in known},
            )
        return found
