"""The catalog projection (catalog.tools.v1, catalog.agents.v1) and the candidates the
requirements cite from it.

Every write is idempotent and order-tolerant: the consumer's inbox drops a redelivered
event, and an event applied late (a retry tier, a rebalance) never takes a row back. A tool
row holds what catalog's newest event said (`as_of`: the event's time; an older one changes
nothing). An agent row holds its highest published revision, and a deprecation for good
(catalog never publishes a deprecated agent again). `event_id` names the event whose effect
the row holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import ARRAY, Text, and_, bindparam, func, literal, or_, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_contracts.catalog import CatalogStatus
from agentsuite_contracts.discovery import Candidate
from agentsuite_discovery.domain.grounding import MAX_QUERY_TERMS, Entry, query_terms, words
from agentsuite_discovery.repositories.tables import catalog_agents, catalog_tools
from agentsuite_kit.db import Repository
from agentsuite_kit.db.repository import tenant_of

PUBLISHED = CatalogStatus.PUBLISHED.value
DEPRECATED = CatalogStatus.DEPRECATED.value
# the most candidates one requirements document cites
MAX_CANDIDATES = 100
# what of one given term is read (a word is at most 40 characters)
MAX_TERM_CHARS = 200

# entry terms are distinct, and so are query terms: counting the entry's terms the query
# holds counts the query's terms the entry matches
_CANDIDATES = text(
    """
    SELECT kind, name, version, description, score FROM (
        SELECT 'tool' AS kind, e.name, e.version, e.description,
            (SELECT count(*) FROM unnest(e.terms) AS t(term) WHERE t.term = ANY(:terms))
            AS score
        FROM catalog_tools AS e
        WHERE e.tenant_id = :tenant AND e.status = 'published' AND e.terms && :terms
        UNION ALL
        SELECT 'agent' AS kind, e.name, e.version, e.description,
            (SELECT count(*) FROM unnest(e.terms) AS t(term) WHERE t.term = ANY(:terms))
            AS score
        FROM catalog_agents AS e
        WHERE e.tenant_id = :tenant AND e.status = 'published' AND e.terms && :terms
    ) AS found
    ORDER BY score DESC, name, kind DESC
    LIMIT :limit
    """
).bindparams(bindparam("terms", type_=ARRAY(Text())))


class Catalog(Repository):
    def _tenant(self) -> UUID:
        # an all-tenants unit of work would see (and cite) every tenant's catalog
        return tenant_of(self)

    def _row(self, entry: Entry, status: str, event_id: UUID, at: datetime) -> dict[str, Any]:
        return {
            "tenant_id": self._tenant(),
            "name": entry.name,
            "version": entry.version,
            "description": entry.description,
            "status": status,
            "terms": list(entry.terms),
            "event_id": event_id,
            "as_of": at,
        }

    async def put_tool(
        self,
        tool_id: UUID,
        entry: Entry,
        status: CatalogStatus,
        event_id: UUID,
        at: datetime,
        *,
        described: bool = True,
    ) -> None:
        """Tool `tool_id` as an event of time `at` tells it, unless a newer one was applied.
        `described` False: the event carried no definition (an older publisher), so the
        description and terms stored stay."""
        row = pg_insert(catalog_tools).values(
            tool_id=tool_id, **self._row(entry, status.value, event_id, at)
        )
        kept = {"description", "terms"} if not described else set()
        changed = ("name", "version", "description", "status", "terms", "event_id", "as_of")
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[catalog_tools.c.tenant_id, catalog_tools.c.tool_id],
                set_={c: row.excluded[c] for c in changed if c not in kept},
                where=catalog_tools.c.as_of < row.excluded.as_of,
            )
        )

    async def publish_agent(
        self, agent_id: UUID, entry: Entry, revision: int, event_id: UUID, at: datetime
    ) -> None:
        """Revision `revision` published: it becomes the agent's unless a higher one (or the
        same one, told later) is stored, or the agent is deprecated."""
        row = pg_insert(catalog_agents).values(
            agent_id=agent_id, revision=revision, **self._row(entry, PUBLISHED, event_id, at)
        )
        current = catalog_agents.c
        changed = ("name", "version", "description", "terms", "revision", "event_id", "as_of")
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[current.tenant_id, current.agent_id],
                set_={c: row.excluded[c] for c in changed},
                where=and_(
                    current.status != DEPRECATED,
                    or_(
                        current.revision < row.excluded.revision,
                        and_(
                            current.revision == row.excluded.revision,
                            current.as_of < row.excluded.as_of,
                        ),
                    ),
                ),
            )
        )

    async def deprecate_agent(
        self,
        agent_id: UUID,
        entry: Entry,
        revision: int,
        event_id: UUID,
        at: datetime,
    ) -> None:
        """For good: a publication applied later does not bring the agent back."""
        row = pg_insert(catalog_agents).values(
            agent_id=agent_id, revision=revision, **self._row(entry, DEPRECATED, event_id, at)
        )
        current = catalog_agents.c
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[current.tenant_id, current.agent_id],
                set_={
                    "status": literal(DEPRECATED),
                    "event_id": row.excluded.event_id,
                    "as_of": func.greatest(current.as_of, row.excluded.as_of),
                },
                # a redelivered or second deprecation changes nothing
                where=current.status != DEPRECATED,
            )
        )

    async def candidates(self, terms: Sequence[str], limit: int) -> list[Candidate]:
        """The tenant's published tools and agents matching any of `terms`, the most
        matching terms first (then by name), at most `limit` (capped at `MAX_CANDIDATES`).
        `terms` go through `domain.grounding.words` as entries' texts did (so `Web Search`
        is two terms, and NUL or a stop word none), the first `MAX_QUERY_TERMS` kept."""
        given = (w for t in terms[:MAX_QUERY_TERMS] for w in words(t[:MAX_TERM_CHARS]))
        wanted = list(dict.fromkeys(given))[:MAX_QUERY_TERMS]
        limit = max(0, min(limit, MAX_CANDIDATES))
        if not wanted or limit == 0:
            return []
        result = await self.session.execute(
            _CANDIDATES, {"tenant": self._tenant(), "terms": wanted, "limit": limit}
        )
        return [
            Candidate(
                kind=row.kind,
                name=row.name,
                version=row.version,
                description=row.description,
                score=float(row.score),
            )
            for row in result
        ]

    async def cite(self, values: Any, limit: int = 10) -> list[Candidate]:
        """The candidates requirements with these values (decoded JSON: e.g. every
        finding's value) cite: `candidates(query_terms(values), limit)`."""
        return await self.candidates(query_terms(values), limit)
