"""Projections of catalog.tools.v1 and catalog.agents.v1: published tool versions and
tool heads, agent revisions and deprecations (see `projections` for the rules every
projection keeps), and the helpers every projection repository shares.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import and_, case, exists, false, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_contracts.catalog import AgentSpec, CatalogStatus, ToolSpec
from agentsuite_execution.domain.catalog import AgentRecord, ToolHead, ToolRecord
from agentsuite_execution.repositories.projected import (
    agent_deprecations,
    agents,
    tool_heads,
    tools,
)
from agentsuite_kit.db.repository import Repository, tenant_of

DEPRECATED = CatalogStatus.DEPRECATED.value

__all__ = ["Agents", "Tools", "first", "tenant_of"]


async def first(repo: Repository, query: Any) -> RowMapping | None:
    return (await repo.session.execute(query)).mappings().first()


class Tools(Repository):
    async def add_version(
        self, tool_id: UUID, tool_version_id: UUID, spec: ToolSpec, at: datetime
    ) -> None:
        """A published version is frozen: the first copy stored stays."""
        await self.session.execute(
            pg_insert(tools)
            .values(
                tenant_id=tenant_of(self),
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
            select(tool_heads)
            .where(tool_heads.c.tenant_id == tenant_of(self), tool_heads.c.name == name)
            .with_for_update()
        )
        row = await first(self, query)
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
        row = pg_insert(tool_heads).values(
            tenant_id=tenant_of(self),
            name=name,
            tool_id=tool_id,
            version=new.version,
            deprecated=new.deprecated,
            sunset_at=new.sunset_at,
            deprecated_at=new.deprecated_at,
            updated_at=new.published_at or new.deprecated_at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[tool_heads.c.tenant_id, tool_heads.c.name],
                set_={
                    "tool_id": row.excluded.tool_id,
                    "version": row.excluded.version,
                    "deprecated": row.excluded.deprecated,
                    "sunset_at": row.excluded.sunset_at,
                    "deprecated_at": row.excluded.deprecated_at,
                    "updated_at": row.excluded.updated_at,
                },
            )
        )

    async def deprecate_version(
        self,
        tool_id: UUID,
        tool_version_id: UUID,
        spec: ToolSpec,
        sunset_at: datetime | None,
        at: datetime,
    ) -> None:
        """Version `spec.version` deprecated; the newest deprecation applied wins. The event
        carries the frozen spec, so one applied before the version's publication stores
        the version too (that publication, applied later, changes nothing)."""
        row = pg_insert(tools).values(
            tenant_id=tenant_of(self),
            name=spec.name,
            version=spec.version,
            tool_id=tool_id,
            tool_version_id=tool_version_id,
            spec=spec.model_dump(mode="json"),
            published_at=at,
            deprecated_at=at,
            sunset_at=sunset_at,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[tools.c.tenant_id, tools.c.name, tools.c.version],
                set_={
                    "deprecated_at": row.excluded.deprecated_at,
                    "sunset_at": row.excluded.sunset_at,
                },
                where=or_(
                    tools.c.deprecated_at.is_(None),
                    tools.c.deprecated_at <= row.excluded.deprecated_at,
                ),
            )
        )

    async def resolve(
        self, name: str, version: str | None, *, tenant_id: UUID | None = None
    ) -> ToolRecord | None:
        """Version `version` of tool `name` (None: the head version); None when unknown,
        or when the tool or the version is deprecated and past its sunset."""
        record = await self.find(name, version, tenant_id=tenant_id)
        return None if record is None or record.sunset(datetime.now(UTC)) else record

    async def find(
        self, name: str, version: str | None, *, tenant_id: UUID | None = None
    ) -> ToolRecord | None:
        """`resolve`, sunset or not: callers tell a sunset version from an unknown one."""
        tenant = tenant_of(self, tenant_id)
        on = and_(tool_heads.c.tenant_id == tools.c.tenant_id, tool_heads.c.name == tools.c.name)
        query = select(
            tools.c.tool_id,
            tools.c.tool_version_id,
            tools.c.name,
            tools.c.version,
            tools.c.spec,
            func.coalesce(tool_heads.c.deprecated, false()).label("deprecated"),
            tool_heads.c.sunset_at,
            tools.c.deprecated_at.label("version_deprecated_at"),
            tools.c.sunset_at.label("version_sunset_at"),
        ).where(tools.c.tenant_id == tenant, tools.c.name == name)
        if version is None:
            query = query.select_from(
                tools.join(tool_heads, and_(on, tool_heads.c.version == tools.c.version))
            )
        else:
            query = query.select_from(tools.outerjoin(tool_heads, on)).where(
                tools.c.version == version
            )
        row = await first(self, query)
        if row is None:
            return None
        return ToolRecord(
            tool_id=row["tool_id"],
            tool_version_id=row["tool_version_id"],
            name=row["name"],
            version=row["version"],
            spec=ToolSpec.model_validate(row["spec"]),
            deprecated=row["deprecated"],
            sunset_at=row["sunset_at"],
            version_deprecated=row["version_deprecated_at"] is not None,
            version_sunset_at=row["version_sunset_at"],
        )


class Agents(Repository):
    async def revise(self, agent_id: UUID, spec: AgentSpec, status: str, at: datetime) -> None:
        """Store revision `spec.version` with its status; deprecated if the agent was
        deprecated after this event (it arrived late)."""
        tenant = tenant_of(self)
        deprecated_since = exists().where(
            agent_deprecations.c.tenant_id == tenant,
            agent_deprecations.c.agent_id == agent_id,
            agent_deprecations.c.deprecated_at > at,
        )
        row = pg_insert(agents).values(
            tenant_id=tenant,
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
        """Every revision known so far; and the newest deprecation time, which revisions
        applied later are checked against."""
        tenant = tenant_of(self)
        await self.session.execute(
            update(agents)
            .where(
                agents.c.tenant_id == tenant,
                agents.c.agent_id == agent_id,
                agents.c.updated_at <= at,
            )
            .values(status=DEPRECATED, updated_at=at)
        )
        row = pg_insert(agent_deprecations).values(
            tenant_id=tenant, agent_id=agent_id, name=name, deprecated_at=at
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[agent_deprecations.c.tenant_id, agent_deprecations.c.agent_id],
                set_={"name": row.excluded.name, "deprecated_at": row.excluded.deprecated_at},
                where=agent_deprecations.c.deprecated_at < row.excluded.deprecated_at,
            )
        )

    async def resolve(
        self, name: str, version: int | None, *, tenant_id: UUID | None = None
    ) -> AgentRecord | None:
        """Revision `version` whatever its status (None: the newest published one)."""
        query = select(agents).where(
            agents.c.tenant_id == tenant_of(self, tenant_id), agents.c.name == name
        )
        if version is None:
            query = (
                query.where(agents.c.status == CatalogStatus.PUBLISHED.value)
                .order_by(agents.c.version.desc())
                .limit(1)
            )
        else:
            query = query.where(agents.c.version == version)
        row = await first(self, query)
        if row is None:
            return None
        return AgentRecord(
            agent_id=row["agent_id"],
            name=row["name"],
            version=row["version"],
            spec=AgentSpec.model_validate(row["spec"]),
            status=row["status"],
        )
