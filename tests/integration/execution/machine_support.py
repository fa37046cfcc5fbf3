"""A hand-driven engine for the state-machine test: its own database (so no running
engine of another fixture claims its steps), the execution runtime without consumers or
relay, and a worker whose every move the test makes - claim, run, crash, sweep - with SQL
as the table owner to read what happened.

Hypothesis drives rules synchronously; the runtime lives on the session's event loop.
The machine runs in a thread and hands each coroutine to that loop (`Env.run`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID, uuid4

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from agentsuite_cli.provision import deprovision
from agentsuite_contracts.common import Money
from agentsuite_contracts.envelope import Envelope, Subject
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.planning import PlanApproved, PlanSnapshot
from agentsuite_contracts.steps import (
    ApprovalStep,
    Budget,
    OnError,
    OnLimit,
    ParallelStep,
    PlanStep,
    RetryPolicy,
    StepKind,
    ToolStep,
    WaitStep,
)
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.runs import Step
from agentsuite_execution.domain.states import RUN_DONE, STEP_OPEN
from agentsuite_execution.engine import kinds, local
from agentsuite_execution.engine.ctx import Ctx
from agentsuite_execution.engine.instant import INSTANT_TOOLS, inline
from agentsuite_execution.engine.workers import Engine
from agentsuite_execution.handlers import projections
from agentsuite_execution.tools import Toolbox
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.db import make_engine
from agentsuite_kit.runtime import Runtime
from tests.integration.execution.harness import create_execution_db, make_settings
from tests.integration.execution.publish import plan_approved

T = TypeVar("T")

# --- the plans the machine runs, and what it reads back ----------------------------------

OPEN = ", ".join(f"'{s}'" for s in sorted(STEP_OPEN))
# long enough that only the test moves these timers, never the clock
LATER = 3_600_000


def tool(key: str, name: str, deps: tuple[str, ...] = (), **kw: Any) -> PlanStep:
    data = kw.pop("input", {})
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=list(deps),
        tool=ToolStep(tool=f"builtin.{name}", input=data),
        **kw,
    )


def flaky(attempts: int) -> dict[str, Any]:
    return {
        "input": {"code": "flaky", "message": "try again", "retryable": True},
        "retry": RetryPolicy(max_attempts=attempts, initial_delay_ms=LATER, backoff=1.0),
    }


NAP = {"ms": 0}  # builtin.sleep is not instant: it is leased and can be lost
PLANS: dict[str, list[PlanStep]] = {
    "retries": [
        tool("a", "echo", input={"n": 1}),
        tool("b", "fail", ("a",), **flaky(3)),
        tool("c", "echo", ("b",), input={"n": 3}),
    ],
    "wait": [
        PlanStep(key="w", name="w", kind=StepKind.WAIT, wait=WaitStep(duration_ms=LATER)),
        tool("s", "sleep", ("w",), input=NAP),
        tool("e", "echo", ("s",), input={"done": True}),
    ],
    "approval": [
        tool("book", "echo", input={"booking": 7}, compensation="unbook"),
        tool("unbook", "sleep", input=NAP),
        PlanStep(
            key="ask",
            name="ask",
            kind=StepKind.APPROVAL,
            depends_on=["book"],
            approval=ApprovalStep(prompt="go on?", approvers=["role:approver"]),
        ),
        tool("after", "sleep", ("ask",), input=NAP),
    ],
    "parallel": [
        PlanStep(
            key="fan",
            name="fan",
            kind=StepKind.PARALLEL,
            parallel=ParallelStep(branches=[["x1", "x2"], ["y1"]], max_concurrency=1),
        ),
        tool("x1", "sleep", input=NAP, compensation="undo"),
        tool("undo", "echo", input={"undo": "${compensated}"}),
        tool("x2", "echo", input={"x": 2}),
        tool("y1", "fail", on_error=OnError.CONTINUE, **flaky(2)),
        tool("after", "echo", ("fan",), input={"all": "${steps.fan.output}"}),
    ],
}


def budget(clock: OnLimit | None = None) -> Budget:
    """Limits nothing here spends against; with a `clock`, a duration that runs out when
    the test lets all timers pass, and what the run then does."""
    return Budget(
        max_tokens=1000,
        max_cost=Money(amount_micros=1_000_000, currency="USD"),
        max_duration_ms=None if clock is None else LATER,
        on_limit=clock or OnLimit.WARN,
    )


BUDGETS: dict[str, Budget | None] = {
    "none": None,
    "limits": budget(),
    "clock_pauses": budget(OnLimit.PAUSE),
    "clock_fails": budget(OnLimit.FAIL),
}

STEP_SQL = """
SELECT state, attempt, lease_owner, failures, lease_losses, output, error, finished_at
  FROM steps WHERE execution_id = :e AND key = :k
"""

INSTANT = ", ".join(f"'{t}'" for t in INSTANT_TOOLS)
STEPS_SQL = f"""
SELECT s.execution_id, s.key, s.state, s.attempt, s.lease_owner,
       (s.kind = 'tool' AND s.spec -> 'tool' ->> 'tool' IN ({INSTANT})) AS instant,
       count(a.attempt) FILTER (WHERE a.status = 'running') AS running_rows,
       coalesce(max(a.attempt), 0) AS top,
       coalesce(bool_or(a.status = 'running' AND a.attempt = s.attempt), false) AS current
  FROM steps s
  LEFT JOIN attempts a ON a.execution_id = s.execution_id AND a.key = s.key
 WHERE s.tenant_id = :tenant
 GROUP BY s.execution_id, s.key
"""

RUNS_SQL = f"""
SELECT e.execution_id, e.status, e.open_steps, e.budget, e.tokens_used, e.cost_used,
       (SELECT count(*) FROM steps s
         WHERE s.execution_id = e.execution_id AND s.state IN ({OPEN})) AS open_count,
       (SELECT count(*) FROM steps s
         WHERE s.execution_id = e.execution_id AND s.state = 'ready') AS ready,
       (SELECT count(*) FROM timers t WHERE t.execution_id = e.execution_id) AS timers,
       -- every claim of a step counts up its attempt (a rerun does not count down)
       (SELECT coalesce(sum(s.attempt), 0) FROM steps s
         WHERE s.execution_id = e.execution_id) AS attempts,
       (SELECT count(*) FROM approvals p
         WHERE p.execution_id = e.execution_id AND p.state = 'pending') AS pending
  FROM executions e
 WHERE e.tenant_id = :tenant
"""


@dataclass
class Env:
    """What the machine drives: execution's deps, a toolbox, the engine's sweep, an
    owner connection for reading every tenant's rows, and the loop they live on."""

    deps: Deps
    toolbox: Toolbox
    engine: Engine
    owner: AsyncEngine
    loop: asyncio.AbstractEventLoop

    def run(self, coro: Coroutine[Any, Any, T], *, within: float = 60.0) -> T:
        """Run `coro` on the session loop from the machine's thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(within)

    async def sql(self, query: str, **params: Any) -> list[Any]:
        """Rows of `query` as the table owner, every tenant visible."""
        [rows] = await self.reads([query], **params)
        return rows

    async def reads(self, queries: Sequence[str], **params: Any) -> list[list[Any]]:
        """Rows of each of `queries`, in one transaction (one consistent view)."""
        found: list[list[Any]] = []
        async with self.owner.begin() as conn:
            await conn.execute(text("SELECT set_config('app.all_tenants', 'on', true)"))
            for query in queries:
                result = await conn.execute(text(query), params)
                found.append(list(result.all()) if result.returns_rows else [])
        return found

    def ctx(self, owner: str, free: int = 0) -> Ctx:
        return Ctx(self.deps, self.toolbox, owner, lambda: free)


@pytest.fixture(scope="module", name="machine")
async def machine_fixture(
    pg_admin_url: str, kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Env]:
    db = await create_execution_db(pg_admin_url, tmp_path_factory.mktemp("machine") / "pw.json")
    # a long lease: a lease runs out when the test says so, never because a rule was slow
    settings = make_settings(db.url(pg_admin_url), kafka_bootstrap, lease=600.0)
    deps = Deps(settings)
    deps.runtime = Runtime[ExecutionUow](settings, uow=ExecutionUow, relay=False)
    await deps.runtime.start()
    owner = make_engine(db.url(pg_admin_url, owner=True), pool_size=2)
    toolbox = Toolbox(settings)
    try:
        yield Env(deps, toolbox, Engine(deps), owner, asyncio.get_running_loop())
    finally:
        await toolbox.aclose()
        await owner.dispose()
        await deps.runtime.stop()
        await deprovision(pg_admin_url, [db])


async def approve(deps: Deps, tenant: UUID, steps: Sequence[PlanStep]) -> PlanSnapshot:
    """`steps` approved as a plan in execution's projection, as its consumer records it."""
    payload = plan_approved(steps=steps)
    event = Envelope[PlanApproved](
        producer="planning",
        tenant_id=tenant,
        subject=Subject(type="plan", id=str(payload.plan_id)),
        correlation_id=uuid7(),
        payload=payload,
    )
    async with deps.uow(tenant) as uow:
        await projections.plan_approved(event, uow)
        await uow.commit()
    return payload.plan


async def claim(env: Env, tenant: UUID, batch: int, owner: str) -> list[Step]:
    """`Engine.claim` for one tenant: lease up to `batch` of its ready steps for `owner`
    and start their attempts (other tenants here are earlier examples, left alone)."""
    async with env.deps.uow(None) as uow:
        claimed = await uow.steps.claim(
            [tenant], owner=owner, batch=batch, lease=env.deps.settings.lease
        )
        await local.started(uow, claimed, owner)
        await uow.commit()
    return claimed


async def execute(env: Env, ctx: Ctx, steps: list[Step], *, limit: int = 50) -> int:
    """Run claimed attempts as `Engine.launch` does (a tenant's instant builtins in one
    transaction, others one by one), then what they took on; how many attempts ran."""
    queue = list(steps)
    ran = 0
    while queue and ran < limit:
        instant = [s for s in queue if inline(s)]
        others = [s for s in queue if not inline(s)]
        queue = []
        if instant:
            queue += await kinds.execute_local(ctx, instant)
            ran += len(instant)
        for step in others:
            queue += await kinds.execute(ctx, step)
            ran += 1
    assert not queue, f"still taking on steps after {limit} attempts: {queue}"
    return ran


async def sweep(env: Env) -> None:
    """The engine's sweep until it found less than a full page."""
    while await env.engine.sweep():
        pass


async def expire_leases(env: Env, tenant: UUID, owner: str | None = None) -> None:
    """The leases of `owner` (None: every owner) run out now: their workers died."""
    await env.sql(
        "UPDATE steps SET lease_until = now() - interval '1 s'"
        " WHERE tenant_id = :tenant AND state = 'running'"
        " AND (CAST(:owner AS text) IS NULL OR lease_owner = :owner)",
        tenant=tenant,
        owner=owner,
    )


async def timers_due(env: Env, tenant: UUID, timer_id: int | None = None) -> None:
    """Time passes for the tenant's timers (one of them when `timer_id` is given)."""
    await env.sql(
        "UPDATE timers SET due_at = now() - interval '1 s'"
        " WHERE tenant_id = :tenant AND (CAST(:id AS bigint) IS NULL OR timer_id = :id)",
        tenant=tenant,
        id=timer_id,
    )


def check_steps(rows: list[Any]) -> None:
    """At most one attempt runs per step, the step's attempt is its newest row, and a
    running step is leased (under a running attempt row, but for an instant builtin's,
    written when it ends)."""
    for r in rows:
        where = f"step {r.key} of {r.execution_id} ({r.state}, attempt {r.attempt})"
        assert r.running_rows <= 1, f"{where}: {r.running_rows} running attempt rows"
        if r.state == "running":
            assert r.lease_owner is not None, f"{where}: running without a lease owner"
        if r.state == "running" and r.instant:
            # an instant builtin's attempt row is written once, when the attempt ends
            assert r.running_rows == 0, f"{where}: an instant builtin's row running"
            assert r.top == r.attempt - 1, f"{where}: highest attempt row is {r.top}"
            continue
        assert r.attempt == r.top, f"{where}: highest attempt row is {r.top}"
        if r.state == "running":
            assert r.current, f"{where}: running but its attempt row is not"
        elif r.state != "waiting":
            assert r.running_rows == 0, f"{where}: an attempt row still running"


def check_runs(rows: list[Any], last: dict[UUID, tuple[str, int]]) -> dict[UUID, tuple[str, int]]:
    """Counters match the steps; an ended run holds nothing open; a paused run readies
    and starts nothing (since the `last` check); no budget is overrun. Each run's status
    and claims (its steps' attempts summed), for the next check."""
    seen: dict[UUID, tuple[str, int]] = {}
    for r in rows:
        where = f"run {r.execution_id} ({r.status})"
        assert r.open_steps == r.open_count, (
            f"{where}: open_steps {r.open_steps}, steps open {r.open_count}"
        )
        if r.status in RUN_DONE:
            assert r.open_count == 0, f"{where}: {r.open_count} steps open"
            assert r.timers == 0, f"{where}: {r.timers} timers left"
            assert r.pending == 0, f"{where}: {r.pending} approvals pending"
        if r.status == "paused":
            assert r.ready == 0, f"{where}: {r.ready} steps ready (not held)"
            before = last.get(r.execution_id)
            if before is not None and before[0] == "paused":
                assert r.attempts == before[1], f"{where}: attempts started while paused"
        budget = r.budget or {}
        if budget.get("max_tokens") is not None:
            assert r.tokens_used <= budget["max_tokens"], where
        if budget.get("max_cost") is not None:
            assert r.cost_used <= budget["max_cost"]["amount_micros"], where
        seen[r.execution_id] = (r.status, r.attempts)
    return seen


async def run_ready(env: Env, tenant: UUID, owner: str = "machine:live") -> None:
    """A live worker runs the tenant's ready steps, and what they make ready, until none."""
    ctx = env.ctx(owner, free=4)
    while claimed := await claim(env, tenant, 50, owner):
        await execute(env, ctx, claimed)


async def statuses(env: Env, ids: Sequence[UUID]) -> dict[UUID, str]:
    rows = await env.sql(
        "SELECT execution_id, status FROM executions"
        " WHERE execution_id = ANY(CAST(:ids AS uuid[]))",
        ids=list(ids),
    )
    return {r.execution_id: str(r.status) for r in rows}


async def timer_ids(env: Env, tenant: UUID) -> list[int]:
    rows = await env.sql(
        "SELECT timer_id FROM timers WHERE tenant_id = :t ORDER BY timer_id", t=tenant
    )
    return [int(r.timer_id) for r in rows]


async def pending_approvals(env: Env, tenant: UUID) -> list[Any]:
    """(approval_id, execution_id) of the tenant's approvals nobody decided yet."""
    return await env.sql(
        "SELECT approval_id, execution_id FROM approvals"
        " WHERE tenant_id = :t AND state = 'pending' ORDER BY approval_id",
        t=tenant,
    )


async def busy(env: Env, tenant: UUID) -> int:
    """What an engine could still do for the tenant now: steps to run or retry, leases
    to run out, timers (of runs not paused: those wait for the resume)."""
    [row] = await env.sql(
        "SELECT (SELECT count(*) FROM timers t JOIN executions e USING (execution_id)"
        "         WHERE t.tenant_id = :t AND e.status <> 'paused')"
        " + (SELECT count(*) FROM steps WHERE tenant_id = :t"
        "     AND state IN ('ready', 'running', 'retrying')) AS busy",
        t=tenant,
    )
    return int(row.busy)


def dead_owner() -> str:
    return f"crashed:{uuid4().hex[:8]}"
