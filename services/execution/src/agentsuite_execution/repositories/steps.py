"""Steps and their attempts: creation, the fair claim, leases, and the moves between states.

The claim runs across tenants (the engine's unit of work lifts RLS): it visits the tenants
that have ready steps in a rotating order and takes at most a fair share from each, so a
tenant with a 10,000-step run gets its share of a round, not the round.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from sqlalchemy import TextClause, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from agentsuite_execution.domain.graph import Node
from agentsuite_execution.domain.runs import Step
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.repositories.claims import CLAIM, CLAIM_KEYS, RENEW, TENANTS
from agentsuite_execution.repositories.tables import attempts, steps
from agentsuite_kit.db.repository import Repository

S = steps.c


def _step(row: Any) -> Step:
    return Step(**dict(row._mapping))


class Steps(Repository):
    # --- creation ----------------------------------------------------------------------

    async def add(
        self, execution_id: UUID, nodes: Sequence[Node], *, generation: int, held: bool
    ) -> list[str]:
        """Insert `nodes`; the keys of those ready at once (no dependencies, no gate)."""
        ready = StepState.HELD if held else StepState.READY
        rows = []
        now_ready: list[str] = []
        now = datetime.now(UTC)
        for n in nodes:
            state = StepState.STANDBY if n.standby else StepState.BLOCKED
            if not n.standby and n.deps_total == 0:
                state = ready
                now_ready.append(n.key)
            rows.append(
                {
                    "tenant_id": self.session.info["tenant"],
                    "execution_id": execution_id,
                    "key": n.key,
                    "kind": n.kind,
                    "spec": n.spec,
                    "state": state,
                    "deps_left": n.deps_total,
                    "deps_total": n.deps_total,
                    "dependents": n.dependents,
                    "parent": n.parent,
                    "item": n.item,
                    "generation": generation,
                    "queued_at": now if state == StepState.READY else None,
                }
            )
        for chunk in range(0, len(rows), 1000):
            await self.session.execute(insert(steps), rows[chunk : chunk + 1000])
        return now_ready

    async def count(self, execution_id: UUID) -> int:
        """The run's step rows (map items included)."""
        query = select(func.count()).select_from(steps).where(S.execution_id == execution_id)
        return int((await self.session.execute(query)).scalar_one())

    # --- the claim -----------------------------------------------------------------------

    async def ready_tenants(self) -> list[UUID]:
        return list((await self.session.execute(TENANTS)).scalars().all())

    async def claim(
        self,
        tenants: Sequence[UUID],
        *,
        owner: str,
        batch: int,
        lease: float,
        tools: Sequence[str] | None = None,
    ) -> list[Step]:
        """Lease up to `batch` ready steps, a fair share from each of `tenants` (only `tool`
        steps calling one of `tools`, when given)."""
        if not tenants or batch <= 0:
            return []
        share = max(1, -(-batch // len(tenants)))
        picks = {"tenants": list(tenants), "share": share, "batch": batch}
        return await self._leased(CLAIM, picks, owner=owner, lease=lease, tools=tools)

    async def claim_keys(
        self,
        keys: Sequence[tuple[UUID, str]],
        *,
        owner: str,
        lease: float,
        limit: int,
        tools: Sequence[str] | None = None,
    ) -> list[Step]:
        """Lease those of `keys` still ready (at most `limit`; only `tool` steps calling
        one of `tools` when given): the steps a transaction just made ready, taken on by
        the worker that made them so."""
        if not keys or limit <= 0:
            return []
        picks = {"executions": [k[0] for k in keys], "keys": [k[1] for k in keys], "limit": limit}
        return await self._leased(CLAIM_KEYS, picks, owner=owner, lease=lease, tools=tools)

    async def _leased(
        self,
        claim: TextClause,
        picks: dict[str, Any],
        *,
        owner: str,
        lease: float,
        tools: Sequence[str] | None,
    ) -> list[Step]:
        """The steps `claim` (CLAIM or CLAIM_KEYS, with `picks` saying which) leased."""
        leased = {"owner": owner, "lease": lease, "any": tools is None, "tools": list(tools or [])}
        result = await self.session.execute(claim, {**picks, **leased})
        return [_step(r) for r in result.all()]

    async def take(
        self, execution_id: UUID, keys: Sequence[str], *, owner: str, lease: float
    ) -> list[Step]:
        """Lease blocked steps whose dependencies just finished, straight to `running`:
        the transaction that released them runs them (instant builtins)."""
        return await self.set_many(
            execution_id,
            keys,
            where_state=[StepState.BLOCKED],
            state=StepState.RUNNING,
            attempt=S.attempt + 1,
            lease_owner=owner,
            lease_until=func.now() + func.make_interval(0, 0, 0, 0, 0, 0, lease),
            started_at=func.coalesce(S.started_at, func.now()),
            queued_at=func.now(),
        )

    async def start_attempts(self, claimed: Sequence[Step], owner: str) -> None:
        """One attempt row per claimed step (its timeline entry)."""
        if not claimed:
            return
        await self.session.execute(
            pg_insert(attempts).on_conflict_do_nothing(),
            [
                {
                    "tenant_id": s.tenant_id,
                    "execution_id": s.execution_id,
                    "key": s.key,
                    "attempt": s.attempt,
                    "generation": s.generation,
                    "worker": owner,
                    "status": "running",
                }
                for s in claimed
            ],
        )

    async def expire(self, owner: str) -> None:
        """End `owner`'s leases now: a stopping engine hands its steps on."""
        query = (
            update(steps)
            .where(S.lease_owner == owner, S.state == StepState.RUNNING)
            .values(lease_until=func.now() - func.make_interval(0, 0, 0, 0, 0, 0, 1))
        )
        await self.session.execute(query)

    async def renew(self, owner: str, lease: float) -> int:
        """Extend every lease `owner` holds; how many. Rows another transaction holds (an
        attempt finishing) are skipped, not waited for: waiting could deadlock with it."""
        result: Any = await self.session.execute(RENEW, {"owner": owner, "lease": lease})
        return int(result.rowcount or 0)

    async def expired(self, limit: int) -> list[Step]:
        """Running steps whose lease ran out (their worker died)."""
        query = (
            select(*steps.c)
            .where(S.state == StepState.RUNNING, S.lease_until < func.now())
            .order_by(S.lease_until)
            .limit(limit)
        )
        return [_step(r) for r in (await self.session.execute(query)).all()]

    async def lease_expired(self, execution_id: UUID, key: str) -> bool:
        query = select(S.lease_until < func.now()).where(
            S.execution_id == execution_id, S.key == key
        )
        return bool((await self.session.execute(query)).scalar())

    # --- reads ---------------------------------------------------------------------------

    async def get(self, execution_id: UUID, key: str, *, lock: bool = False) -> Step | None:
        query = select(*steps.c).where(S.execution_id == execution_id, S.key == key)
        if lock:
            query = query.with_for_update()
        row = (await self.session.execute(query)).first()
        return None if row is None else _step(row)

    async def of(self, execution_id: UUID, *, states: Sequence[str] | None = None) -> list[Step]:
        query = select(*steps.c).where(S.execution_id == execution_id)
        if states is not None:
            query = query.where(S.state.in_(list(states)))
        return [_step(r) for r in (await self.session.execute(query.order_by(S.key))).all()]

    async def children(self, execution_id: UUID, parent: str) -> list[Step]:
        query = select(*steps.c).where(S.execution_id == execution_id, S.parent == parent)
        return [_step(r) for r in (await self.session.execute(query)).all()]

    async def outputs(self, execution_id: UUID, keys: Sequence[str]) -> dict[str, Step]:
        if not keys:
            return {}
        query = select(*steps.c).where(S.execution_id == execution_id, S.key.in_(list(keys)))
        return {r.key: _step(r) for r in (await self.session.execute(query)).all()}

    async def attempts_of(self, execution_id: UUID) -> list[dict[str, Any]]:
        a = attempts.c
        query = (
            select(*attempts.c)
            .where(a.execution_id == execution_id)
            .order_by(a.started_at, a.key, a.attempt)
        )
        return [dict(r._mapping) for r in (await self.session.execute(query)).all()]

    # --- moves ---------------------------------------------------------------------------

    async def set(self, execution_id: UUID, key: str, **values: Any) -> Step:
        query = (
            update(steps)
            .where(S.execution_id == execution_id, S.key == key)
            .values(**values)
            .returning(*steps.c)
        )
        return _step((await self.session.execute(query)).one())

    async def set_many(
        self, execution_id: UUID, keys: Sequence[str], *, where_state: Sequence[str], **values: Any
    ) -> list[Step]:
        if not keys:
            return []
        query = (
            update(steps)
            .where(
                S.execution_id == execution_id,
                S.key.in_(list(keys)),
                S.state.in_(list(where_state)),
            )
            .values(**values)
            .returning(*steps.c)
        )
        return [_step(r) for r in (await self.session.execute(query)).all()]

    async def set_states(
        self, execution_id: UUID, from_states: Sequence[str], to_state: str, **values: Any
    ) -> list[Step]:
        """Every step of the run in one of `from_states` moves to `to_state`."""
        query = (
            update(steps)
            .where(S.execution_id == execution_id, S.state.in_(list(from_states)))
            .values(state=to_state, **values)
            .returning(*steps.c)
        )
        return [_step(r) for r in (await self.session.execute(query)).all()]

    async def resolve(
        self, execution_id: UUID, keys: Sequence[str], *, ok: bool, failed: bool
    ) -> list[Step]:
        """A dependency of `keys` finished: count it (`ok` succeeded, `failed` failed
        softly, neither: skipped); the updated rows of those still blocked."""
        return await self.set_many(
            execution_id,
            keys,
            where_state=[StepState.BLOCKED],
            deps_left=S.deps_left - 1,
            deps_ok=S.deps_ok + (1 if ok else 0),
            deps_failed=S.deps_failed + (1 if failed else 0),
        )

    async def finish_attempt(
        self,
        step: Step,
        status: str,
        *,
        error: dict[str, Any] | None = None,
        tokens: int = 0,
        cost: int = 0,
    ) -> None:
        """Close the attempt's row, or write it whole: an instant builtin's attempt starts
        and ends in one transaction, so its row is written once, at the end."""
        ended = {
            "status": status,
            "error": error,
            "tokens": tokens,
            "cost": cost,
            "finished_at": func.now(),
        }
        query = (
            pg_insert(attempts)
            .values(
                tenant_id=step.tenant_id,
                execution_id=step.execution_id,
                key=step.key,
                attempt=step.attempt,
                generation=step.generation,
                worker=step.lease_owner,
                started_at=func.now(),
                **ended,
            )
            .on_conflict_do_update(
                index_elements=[attempts.c.execution_id, attempts.c.key, attempts.c.attempt],
                set_=ended,
            )
        )
        await self.session.execute(query)

    async def add_usage(self, execution_id: UUID, key: str, tokens: int, cost: int) -> None:
        query = (
            update(steps)
            .where(S.execution_id == execution_id, S.key == key)
            .values(tokens=S.tokens + tokens, cost=S.cost + cost)
        )
        await self.session.execute(query)

    async def delete_instances(self, execution_id: UUID, parent: str) -> int:
        """Drop a map's body instances (a rerun makes them afresh)."""
        query = steps.delete().where(
            S.execution_id == execution_id, S.parent == parent, S.item.is_not(None)
        )
        result: Any = await self.session.execute(query)
        return int(result.rowcount or 0)
