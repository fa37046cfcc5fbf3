"""Agents and their revisions (RLS confines every statement to the unit of work's tenant)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping

from agentsuite_catalog.domain.agents import Agent, Revision
from agentsuite_catalog.repositories.tables import agent_revisions, agents
from agentsuite_contracts.catalog import AgentSpec, CatalogStatus
from agentsuite_kit.db import Repository
from agentsuite_kit.http.pagination import CursorValue

_AGENT = select(
    agents.c.id,
    agents.c.tenant_id,
    agents.c.name,
    agents.c.created_at,
    agents.c.revisions,
    agents.c.deprecated_at,
)


def _agent(row: RowMapping) -> Agent:
    return Agent(
        row["id"],
        row["tenant_id"],
        row["name"],
        row["created_at"],
        row["revisions"],
        row["deprecated_at"],
    )


def _revision(row: RowMapping) -> Revision:
    return Revision(
        agent_id=row["agent_id"],
        number=row["number"],
        status=CatalogStatus(row["status"]),
        spec=AgentSpec.model_validate(row["spec"]),
        created_at=row["created_at"],
        published_at=row["published_at"],
    )


class Agents(Repository):
    async def add(self, agent: Agent) -> bool:
        """Save a new agent; False when the tenant has an agent of that name already."""
        made = await self.session.execute(
            pg_insert(agents)
            .values(
                id=agent.id,
                tenant_id=agent.tenant_id,
                name=agent.name,
                revisions=agent.revisions,
                created_at=agent.created_at,
            )
            .on_conflict_do_nothing(constraint="uq_agents_tenant_name")
            .returning(agents.c.id)
        )
        return made.first() is not None

    async def get(self, agent_id: UUID, *, lock: bool = False) -> Agent | None:
        """The agent, or None; `lock` holds it until the transaction ends."""
        query = _AGENT.where(agents.c.id == agent_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else _agent(row)

    async def page(self, after: Sequence[CursorValue] | None, limit: int) -> list[Agent]:
        query = _AGENT.order_by(agents.c.name, agents.c.id).limit(limit + 1)
        if after is not None:
            name, last = after
            query = query.where(
                or_(agents.c.name > name, and_(agents.c.name == name, agents.c.id > last))
            )
        return [_agent(r) for r in (await self.session.execute(query)).mappings()]

    async def save(self, agent: Agent, reason: str | None = None) -> None:
        values: dict[str, object] = {
            "revisions": agent.revisions,
            "deprecated_at": agent.deprecated_at,
        }
        if reason is not None:
            values["deprecation_reason"] = reason
        await self.session.execute(update(agents).where(agents.c.id == agent.id).values(values))

    async def add_revision(self, tenant_id: UUID, revision: Revision) -> None:
        await self.session.execute(
            insert(agent_revisions).values(
                agent_id=revision.agent_id,
                number=revision.number,
                tenant_id=tenant_id,
                status=revision.status.value,
                spec=revision.spec.model_dump(mode="json"),
                created_at=revision.created_at,
            )
        )

    async def revision(self, agent_id: UUID, number: int) -> Revision | None:
        row = (
            (
                await self.session.execute(
                    select(agent_revisions).where(
                        agent_revisions.c.agent_id == agent_id, agent_revisions.c.number == number
                    )
                )
            )
            .mappings()
            .first()
        )
        return None if row is None else _revision(row)

    async def newest_published(self, agent_id: UUID) -> Revision | None:
        """The highest-numbered published revision: what execution runs."""
        query = (
            select(agent_revisions)
            .where(
                agent_revisions.c.agent_id == agent_id,
                agent_revisions.c.status == CatalogStatus.PUBLISHED.value,
            )
            .order_by(agent_revisions.c.number.desc())
            .limit(1)
        )
        row = (await self.session.execute(query)).mappings().first()
        return None if row is None else _revision(row)

    async def published(self, revision: Revision) -> None:
        await self.session.execute(
            update(agent_revisions)
            .where(
                agent_revisions.c.agent_id == revision.agent_id,
                agent_revisions.c.number == revision.number,
            )
            .values(status=revision.status.value, published_at=revision.published_at)
        )
