"""Runs of planning's plans (execution.executions.v1): which plan version each execution
runs, whether it is open, what it and its steps spent. The forecast reads `History`,
schedules' overlap policy reads `open_for_schedule`.

Order-tolerant like every projection: `started` fills the run's facts whenever it comes
(they never change), and a state change applies only from an event newer than the one
that set the state (`state_at`).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import func, literal_column, select
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_kit.db.repository import Repository, tenant_of
from agentsuite_planning.domain.forecast import History
from agentsuite_planning.repositories.tables import runs, step_costs

OPEN = "open"
FINISHED = "finished"
# the most past runs one forecast reads
MAX_HISTORY = 1_000


class Runs(Repository):
    async def started(
        self,
        execution_id: UUID,
        plan_id: UUID,
        plan_version: int,
        schedule_id: UUID | None,
        trigger: str,
        at: datetime,
    ) -> None:
        row = pg_insert(runs).values(
            tenant_id=tenant_of(self),
            execution_id=execution_id,
            plan_id=plan_id,
            plan_version=plan_version,
            schedule_id=schedule_id,
            trigger=trigger,
            state=OPEN,
            state_at=at,
        )
        facts = ("plan_id", "plan_version", "schedule_id", "trigger")
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[runs.c.tenant_id, runs.c.execution_id],
                # a later event came first: the state it set stays
                set_={c: row.excluded[c] for c in facts},
            )
        )

    async def state(self, execution_id: UUID, state: str, cost: int | None, at: datetime) -> None:
        """`state` as of `at` (finished: completed, failed, cancelled; open: resumed for a
        rerun), unless a newer event set the state; `cost` None keeps the one stored."""
        row = pg_insert(runs).values(
            tenant_id=tenant_of(self),
            execution_id=execution_id,
            state=state,
            state_at=at,
            cost=cost,
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[runs.c.tenant_id, runs.c.execution_id],
                set_={
                    "state": row.excluded.state,
                    "state_at": row.excluded.state_at,
                    "cost": func.coalesce(row.excluded.cost, runs.c.cost),
                },
                where=runs.c.state_at < row.excluded.state_at,
            )
        )

    async def step_cost(self, execution_id: UUID, step: str, cost: int, at: datetime) -> None:
        """What step `step` of the run spent, as its newest success applied tells."""
        row = pg_insert(step_costs).values(
            tenant_id=tenant_of(self), execution_id=execution_id, step=step, cost=cost, as_of=at
        )
        await self.session.execute(
            row.on_conflict_do_update(
                index_elements=[
                    step_costs.c.tenant_id,
                    step_costs.c.execution_id,
                    step_costs.c.step,
                ],
                set_={"cost": row.excluded.cost, "as_of": row.excluded.as_of},
                where=step_costs.c.as_of < row.excluded.as_of,
            )
        )

    async def open_for_schedule(self, schedule_id: UUID) -> int:
        """Runs of the schedule not finished yet (the overlap policy)."""
        query = select(func.count()).where(
            runs.c.tenant_id == tenant_of(self),
            runs.c.schedule_id == schedule_id,
            runs.c.state == OPEN,
        )
        return int(await self.session.scalar(query) or 0)

    async def of(self, plan_id: UUID, *, limit: int = 200) -> History:
        """DESIGN.md's `History.of` (the unit of work's `history` is this repository)."""
        return await self.history(plan_id, limit=limit)

    async def history(self, plan_id: UUID, *, limit: int = 200) -> History:
        """The newest `limit` finished runs of the plan (any version) that told their
        cost: their totals, and each step's spend per run, micro-units, newest first."""
        tenant = tenant_of(self)
        recent = (
            select(runs.c.execution_id, runs.c.cost, runs.c.state_at)
            .where(
                runs.c.tenant_id == tenant,
                runs.c.plan_id == plan_id,
                runs.c.state == FINISHED,
                runs.c.cost.is_not(None),
            )
            .order_by(runs.c.state_at.desc(), runs.c.execution_id)
            .limit(max(0, min(limit, MAX_HISTORY)))
            .cte("recent")
        )
        totals = await self.session.execute(
            select(recent.c.cost).order_by(recent.c.state_at.desc(), recent.c.execution_id)
        )
        # a map body's step counts once per run: the sum of its items (`body[3]` -> body)
        # (literals, not parameters: GROUP BY must see the same expression as the SELECT)
        base = func.regexp_replace(
            step_costs.c.step, literal_column(r"'\[[0-9]+\]$'"), literal_column("''")
        ).label("step")
        per_step = await self.session.execute(
            select(base, func.sum(step_costs.c.cost).label("cost"))
            .join(recent, recent.c.execution_id == step_costs.c.execution_id)
            .where(step_costs.c.tenant_id == tenant)
            .group_by(base, recent.c.execution_id, recent.c.state_at)
            .order_by(recent.c.state_at.desc(), recent.c.execution_id, base)
        )
        steps: dict[str, list[int]] = {}
        for row in per_step:
            steps.setdefault(row.step, []).append(int(row.cost))
        return History(run_costs=[int(c) for c in totals.scalars()], step_costs=steps)
