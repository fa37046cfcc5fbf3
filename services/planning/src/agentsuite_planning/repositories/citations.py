"""The requirements approved versions cite (from discovery sessions), and which of them
discovery has since contradicted or revised: the requirement-drift path.

One plan's rows are its newest approved version's: `record` (approval) replaces them,
which also clears the plan's staleness. A row marked (`stale_by`) stays marked: a repeated
or second contradiction of it changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import and_, delete, or_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.planning import Requirement
from agentsuite_kit.db.repository import Repository, tenant_of
from agentsuite_planning.repositories.tables import citations


@dataclass(frozen=True)
class Drifted:
    """A cited requirement a discovery extraction contradicted or revised."""

    plan_id: UUID
    version: int
    requirement: str
    session_id: UUID


class Citations(Repository):
    async def record(
        self, plan_id: UUID, version: int, requirements: Sequence[Requirement]
    ) -> None:
        """Version `version` of the plan was approved: its requirements from discovery
        sessions are what the plan cites from now on."""
        tenant = tenant_of(self)
        await self.session.execute(
            delete(citations).where(citations.c.tenant_id == tenant, citations.c.plan_id == plan_id)
        )
        rows = [
            {
                "tenant_id": tenant,
                "plan_id": plan_id,
                "version": version,
                "requirement": r.key,
                "session_id": r.session_id,
                "extraction_id": r.extraction_id,
            }
            for r in requirements
            if r.session_id is not None
        ]
        if rows:
            await self.session.execute(pg_insert(citations).on_conflict_do_nothing(), rows)

    async def drift(
        self,
        session_id: UUID,
        obligation: str,
        extraction_id: UUID,
        supersedes: UUID | None,
    ) -> list[Drifted]:
        """Mark the citations extraction `extraction_id` contradicts or revises (the one
        it supersedes, or the obligation's value in its session) and return those newly
        marked. A citation of this very extraction is not drift: the plan cites the value
        the extraction set (its approval came before this event was applied)."""
        c = citations.c
        cited = c.requirement == obligation
        if supersedes is not None:
            cited = or_(cited, c.extraction_id == supersedes)
        result = await self.session.execute(
            update(citations)
            .where(
                c.tenant_id == tenant_of(self),
                c.session_id == session_id,
                c.stale_by.is_(None),
                cited,
                or_(c.extraction_id.is_(None), c.extraction_id != extraction_id),
            )
            .values(stale_by=extraction_id)
            .returning(c.plan_id, c.version, c.requirement, c.session_id)
        )
        found = [
            Drifted(
                plan_id=r.plan_id,
                version=r.version,
                requirement=r.requirement,
                session_id=r.session_id,
            )
            for r in result
        ]
        return sorted(found, key=lambda d: (str(d.plan_id), d.version, d.requirement))

    async def stale(self, plan_id: UUID) -> bool:
        """Whether a requirement the plan's approved version cites changed since."""
        c = citations.c
        found = await self.session.execute(
            citations.select()
            .where(
                and_(c.tenant_id == tenant_of(self), c.plan_id == plan_id, c.stale_by.is_not(None))
            )
            .limit(1)
        )
        return found.first() is not None
