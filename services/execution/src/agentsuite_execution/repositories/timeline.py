"""What the API reads of a run beyond its row: its steps a page at a time, and its timeline
(every attempt with the LLM calls made in it) in one query."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sqlalchemy import select, text

from agentsuite_execution.domain.runs import Step
from agentsuite_execution.repositories.tables import steps
from agentsuite_kit.db.repository import Repository, keyset

# one row per attempt, its step's kind and container, and its LLM calls as a JSON array
# (a lateral aggregate: an attempt without calls gets `[]`, not a row per call)
_TIMELINE = text(
    """
    SELECT a.key, a.attempt, a.generation, a.worker, a.status, a.error, a.tokens, a.cost,
           a.started_at, a.finished_at, s.kind, s.parent,
           coalesce(c.calls, '[]'::jsonb) AS llm_calls
      FROM attempts a
      LEFT JOIN steps s ON s.execution_id = a.execution_id AND s.key = a.key
      LEFT JOIN LATERAL (
        SELECT jsonb_agg(
                 jsonb_build_object(
                   'request_id', l.request_id, 'model', l.model, 'cached', l.cached,
                   'state', l.state, 'tokens', l.tokens, 'cost', l.cost,
                   'created_at', l.created_at, 'answered_at', l.answered_at)
                 ORDER BY l.created_at) AS calls
          FROM llm_calls l
         WHERE l.execution_id = a.execution_id AND l.key = a.key AND l.attempt = a.attempt
      ) c ON true
     WHERE a.execution_id = :execution_id
     ORDER BY a.started_at, a.key, a.attempt
     LIMIT :limit
    """
)


class Timeline(Repository):
    async def attempts(self, execution_id: UUID, limit: int) -> list[dict[str, Any]]:
        """Up to `limit` attempts in the order they started, each with `llm_calls`."""
        result = await self.session.execute(
            _TIMELINE, {"execution_id": execution_id, "limit": limit}
        )
        return [dict(r._mapping) for r in result.all()]

    async def steps(self, execution_id: UUID, after: str | None, limit: int) -> list[Step]:
        """A page of the run's steps by key (`limit + 1` rows at most)."""
        query = select(*steps.c).where(steps.c.execution_id == execution_id)
        query = keyset(query, [steps.c.key], None if after is None else (after,), limit)
        return [Step(**dict(r._mapping)) for r in (await self.session.execute(query)).all()]
