"""Executions: create, read, move through their states, account usage and reservations."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.repositories.tables import executions
from agentsuite_kit.db.repository import Repository, keyset
from agentsuite_kit.db.scoped import ScopedConnection

# every column but the plan snapshot, which a step's transaction rarely needs and whose JSON
# grows with the plan (a 1,000-step plan's decode cost milliseconds at every step)
_COLUMNS = [c for c in executions.c if c.name != "plan"]
# plans of runs are immutable: their snapshots are kept per process, bounded
_SNAPSHOTS: dict[UUID, PlanSnapshot] = {}
_SNAPSHOTS_MAX = 256


def _run(row: Any) -> Run:
    values = dict(row._mapping)
    values.setdefault("plan", None)
    return Run(**values)


class Executions(Repository):
    def __init__(self, session: ScopedConnection) -> None:
        super().__init__(session)
        self._open: dict[UUID, int] = {}

    async def add(self, values: dict[str, Any]) -> Run | None:
        """Insert; None when the (schedule, slot) or (trigger, delivery) already has a run."""
        query = (
            insert(executions)
            .values(tenant_id=self.session.info["tenant"], **values)
            .on_conflict_do_nothing()
            .returning(*_COLUMNS)
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else _run(row)

    async def by_slot(self, schedule_id: UUID, due_at: datetime) -> Run | None:
        await self.flush()
        query = select(*_COLUMNS).where(
            executions.c.schedule_id == schedule_id, executions.c.due_at == due_at
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else _run(row)

    async def by_delivery(self, trigger_id: UUID, delivery_id: str) -> Run | None:
        await self.flush()
        query = select(*_COLUMNS).where(
            executions.c.trigger_id == trigger_id, executions.c.delivery_id == delivery_id
        )
        row = (await self.session.execute(query)).first()
        return None if row is None else _run(row)

    async def get(self, execution_id: UUID, *, lock: bool = False) -> Run | None:
        await self.flush()
        query = select(*_COLUMNS).where(executions.c.execution_id == execution_id)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _run(row)

    async def snapshot(self, execution_id: UUID) -> PlanSnapshot:
        """The plan snapshot the run runs."""
        found = _SNAPSHOTS.get(execution_id)
        if found is None:
            query = select(executions.c.plan).where(executions.c.execution_id == execution_id)
            found = PlanSnapshot.model_validate((await self.session.execute(query)).scalar_one())
            if len(_SNAPSHOTS) >= _SNAPSHOTS_MAX:
                _SNAPSHOTS.pop(next(iter(_SNAPSHOTS)))
            _SNAPSHOTS[execution_id] = found
        return found

    async def page(
        self,
        *,
        after: tuple[datetime, UUID] | None,
        limit: int,
        status: str | None = None,
        plan_id: UUID | None = None,
    ) -> list[Run]:
        await self.flush()
        query = select(*_COLUMNS)
        if status is not None:
            query = query.where(executions.c.status == status)
        if plan_id is not None:
            query = query.where(executions.c.plan_id == plan_id)
        query = keyset(
            query,
            [executions.c.created_at, executions.c.execution_id],
            after,
            limit,
            descending=True,
        )
        return [_run(r) for r in (await self.session.execute(query)).all()]

    async def children(self, execution_id: UUID) -> list[Run]:
        await self.flush()
        query = select(*_COLUMNS).where(executions.c.parent_execution_id == execution_id)
        return [_run(r) for r in (await self.session.execute(query)).all()]

    async def tree_runs(self, root: UUID, *, lock: bool = False) -> int:
        """How many runs the tree of `root` has (root included). `lock`: hold the tree's
        lock to commit, so two runs starting in one tree are counted one after the other."""
        await self.flush()
        if lock:
            await self.session.execute(_TREE_LOCK, {"root": str(root)})
        c = executions.c
        query = (
            select(func.count())
            .select_from(executions)
            .where(or_(c.execution_id == root, c.root_execution_id == root))
        )
        return int((await self.session.execute(query)).scalar_one())

    async def set(self, execution_id: UUID, **values: Any) -> Run:
        """Update and bump the version; the new row."""
        await self.flush()
        query = (
            update(executions)
            .where(executions.c.execution_id == execution_id)
            .values(version=executions.c.version + 1, updated_at=func.now(), **values)
            .returning(*_COLUMNS)
        )
        return _run((await self.session.execute(query)).one())

    async def open_steps(self, execution_id: UUID, delta: int) -> None:
        """Count `delta` more (or fewer) unfinished steps of the run. Written before the
        run's row is next read or changed here, and at commit: one UPDATE per run and
        transaction rather than one per step (a transaction may finish dozens)."""
        self._open[execution_id] = self._open.get(execution_id, 0) + delta

    async def flush(self) -> None:
        """Write the step counts `open_steps` gathered."""
        pending, self._open = self._open, {}
        for execution_id, delta in pending.items():
            if delta:
                query = (
                    update(executions)
                    .where(executions.c.execution_id == execution_id)
                    .values(open_steps=executions.c.open_steps + delta)
                )
                await self.session.execute(query)

    async def reserve(
        self,
        execution_id: UUID,
        *,
        tokens: int,
        cost: int,
        max_tokens: int | None,
        max_cost: int | None,
    ) -> Run | None:
        """Reserve `tokens` and `cost` if they fit the limits beside what is used and
        reserved already; None when they do not. Atomic: the row's lock orders racers."""
        await self.flush()
        query = (
            update(executions)
            .where(executions.c.execution_id == execution_id)
            .values(
                tokens_reserved=executions.c.tokens_reserved + tokens,
                cost_reserved=executions.c.cost_reserved + cost,
            )
            .returning(*_COLUMNS)
        )
        if max_tokens is not None:
            query = query.where(
                executions.c.tokens_used + executions.c.tokens_reserved + tokens <= max_tokens
            )
        if max_cost is not None:
            query = query.where(
                executions.c.cost_used + executions.c.cost_reserved + cost <= max_cost
            )
        row = (await self.session.execute(query)).first()
        return None if row is None else _run(row)

    async def settle(
        self,
        execution_id: UUID,
        *,
        reserved_tokens: int,
        reserved_cost: int,
        prompt_tokens: int,
        completion_tokens: int,
        cost: int,
    ) -> Run:
        """Release a reservation and count what was really used."""
        await self.flush()
        c = executions.c
        query = (
            update(executions)
            .where(c.execution_id == execution_id)
            .values(
                tokens_reserved=func.greatest(c.tokens_reserved - reserved_tokens, 0),
                cost_reserved=func.greatest(c.cost_reserved - reserved_cost, 0),
                tokens_used=c.tokens_used + prompt_tokens + completion_tokens,
                prompt_tokens=c.prompt_tokens + prompt_tokens,
                completion_tokens=c.completion_tokens + completion_tokens,
                cost_used=c.cost_used + cost,
            )
            .returning(*_COLUMNS)
        )
        return _run((await self.session.execute(query)).one())

    async def manifest(self, execution_id: UUID, section: str, key: str, value: Any) -> None:
        """Record what a run really used (`tools`, `agents`, `models`, `prompts`) under
        `section.key`; the first record of a key wins. A tool's record is the first
        version the run resolved: each step records the version it ran itself (`ran`)."""
        await self.flush()
        await self.session.execute(
            _MANIFEST,
            {"id": execution_id, "section": section, "key": key, "value": json.dumps(value)},
        )


_MANIFEST = text(
    """
    UPDATE executions
       SET manifest = jsonb_set(
             manifest, ARRAY[CAST(:section AS text)],
             coalesce(manifest -> CAST(:section AS text), '{}'::jsonb)
               || jsonb_build_object(CAST(:key AS text), CAST(:value AS jsonb)),
             true)
     WHERE execution_id = :id
       AND NOT coalesce(manifest -> CAST(:section AS text), '{}'::jsonb) ? CAST(:key AS text)
    """
)


# a transaction lock per tree (the two-key form: apart from the relay's one-key lock)
_TREE_LOCK = text("SELECT pg_advisory_xact_lock(20250, hashtext(:root))")
