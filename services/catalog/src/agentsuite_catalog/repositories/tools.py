"""Tools and their versions (RLS confines every statement to the unit of work's tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_catalog.domain.semver import parse
from agentsuite_catalog.domain.tools import Deprecation, Tool, ToolVersion
from agentsuite_catalog.repositories.tables import tool_versions, tools
from agentsuite_contracts.catalog import CatalogStatus, ToolSpec
from agentsuite_kit.db import Repository
from agentsuite_kit.http.pagination import CursorValue

_TOOL = select(
    tools.c.id, tools.c.tenant_id, tools.c.name, tools.c.created_at, tools.c.head_version
)


def _tool(row: RowMapping) -> Tool:
    return Tool(row["id"], row["tenant_id"], row["name"], row["created_at"], row["head_version"])


def _version(row: RowMapping) -> ToolVersion:
    deprecation = None
    if row["deprecated_at"] is not None:
        deprecation = Deprecation(
            row["deprecated_at"], row["sunset_at"], row["deprecation_reason"], row["replacement"]
        )
    return ToolVersion(
        id=row["id"],
        tool_id=row["tool_id"],
        semver=parse(row["version"]),
        status=CatalogStatus(row["status"]),
        spec=ToolSpec.model_validate(row["spec"]),
        created_at=row["created_at"],
        published_at=row["published_at"],
        deprecation=deprecation,
    )


class Tools(Repository):
    async def add(self, tool: Tool) -> bool:
        """Save a new tool; False when the tenant has a tool of that name already."""
        made = await self.session.execute(
            pg_insert(tools)
            .values(
                id=tool.id,
                tenant_id=tool.tenant_id,
                name=tool.name,
                head_version=tool.head,
                created_at=tool.created_at,
                updated_at=tool.created_at,
            )
            .on_conflict_do_nothing(constraint="uq_tools_tenant_name")
            .returning(tools.c.id)
        )
        return made.first() is not None

    async def get(self, tool_id: UUID, *, lock: bool = False) -> Tool | None:
        """The tool, or None; `lock` holds it until the transaction ends, so lifecycle
        changes of one tool's versions run one at a time."""
        query = _TOOL.where(tools.c.id == tool_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else _tool(row)

    async def by_name(self, name: str) -> Tool | None:
        row = (await self.session.execute(_TOOL.where(tools.c.name == name))).mappings().first()
        return None if row is None else _tool(row)

    async def page(self, after: Sequence[CursorValue] | None, limit: int) -> list[Tool]:
        """Up to `limit + 1` tools in name order, after the cursor's (name, id)."""
        query = _TOOL.order_by(tools.c.name, tools.c.id).limit(limit + 1)
        if after is not None:
            name, last = after
            query = query.where(
                or_(tools.c.name > name, and_(tools.c.name == name, tools.c.id > last))
            )
        rows = (await self.session.execute(query)).mappings().all()
        return [_tool(r) for r in rows]

    async def set_head(self, tool: Tool) -> None:
        await self.session.execute(
            update(tools)
            .where(tools.c.id == tool.id)
            .values(head_version=tool.head, updated_at=func.now())
        )

    async def add_version(self, tenant_id: UUID, version: ToolVersion) -> None:
        semver = version.semver
        await self.session.execute(
            insert(tool_versions).values(
                id=version.id,
                tenant_id=tenant_id,
                tool_id=version.tool_id,
                version=version.version,
                major=semver.major,
                minor=semver.minor,
                patch=semver.patch,
                prerelease=".".join(semver.prerelease),
                status=version.status.value,
                spec=version.spec.model_dump(mode="json"),
                created_at=version.created_at,
            )
        )

    async def versions(self, tool_id: UUID) -> list[ToolVersion]:
        """Every version of the tool, in no particular order (the domain orders them)."""
        rows = (
            await self.session.execute(
                select(tool_versions).where(tool_versions.c.tool_id == tool_id)
            )
        ).mappings()
        return [_version(r) for r in rows]

    async def versions_page(
        self, tool_id: UUID, after: Sequence[CursorValue] | None, limit: int
    ) -> list[ToolVersion]:
        """Up to `limit + 1` versions in the order they were made (ids are time-ordered)."""
        query = (
            select(tool_versions)
            .where(tool_versions.c.tool_id == tool_id)
            .order_by(tool_versions.c.id)
            .limit(limit + 1)
        )
        if after is not None:
            query = query.where(tool_versions.c.id > after[0])
        return [_version(r) for r in (await self.session.execute(query)).mappings()]

    async def save_lifecycle(self, version: ToolVersion) -> None:
        """A version's lifecycle moved: its spec never does."""
        values: dict[str, Any] = {
            "status": version.status.value,
            "published_at": version.published_at,
        }
        if version.deprecation is not None:
            values |= {
                "deprecated_at": version.deprecation.at,
                "sunset_at": version.deprecation.sunset_at,
                "deprecation_reason": version.deprecation.reason,
                "replacement": version.deprecation.replacement,
            }
        await self.session.execute(
            update(tool_versions).where(tool_versions.c.id == version.id).values(**values)
        )
