"""Bounds a hostile plan runs into and ends at: step rows per run (map items included),
subplan nesting depth and runs per tree; and trees of runs stopped without recursion."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.steps import ConditionStep, MapStep, PlanStep, StepKind, SubplanStep
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.handlers import control
from agentsuite_execution.handlers.runs import StartRun, start
from agentsuite_kit.http.problems import domain_problem
from tests.integration.execution.engine_support import (
    approve,
    run_plan,
    steps_of,
    wait_for,
)
from tests.integration.execution.harness import Execution
from tests.integration.execution.test_api_control import wait
from tests.integration.execution.test_review_engine import tool

pytestmark = pytest.mark.integration


@contextmanager
def bounded(ex: Execution, **limits: Any) -> Iterator[None]:
    """The engine's settings with `limits` for the duration (workers read them live)."""
    settings = ex.deps.settings
    before = {name: getattr(settings, name) for name in limits}
    for name, value in limits.items():
        setattr(settings, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(settings, name, value)


def mapped(key: str, body: list[str], concurrency: int = 4) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.MAP,
        map=MapStep(items="${inputs.items}", item_var="x", body=body, max_concurrency=concurrency),
    )


# --- step rows per run -------------------------------------------------------------------


async def test_a_map_that_would_cross_max_steps_fails_cleanly(engine: Execution) -> None:
    tenant = uuid4()
    plan = await approve(
        engine, tenant, [tool("head"), mapped("each", ["a", "b"]), tool("a"), tool("b")]
    )
    with bounded(engine, max_steps=30):
        # 2 rows of the plan + 2 per item: 14 items make 30 rows, 15 would make 32
        ok = await run_plan(engine, tenant, plan, inputs={"items": list(range(14))})
        done = await wait_for(engine, tenant, ok)
        assert done.status == "completed", done.error
        assert len(await steps_of(engine, tenant, ok)) == 30

        over = await run_plan(engine, tenant, plan, inputs={"items": list(range(15))})
        failed = await wait_for(engine, tenant, over)
    assert failed.status == "failed"
    assert failed.failed_step == "each"
    assert failed.error is not None
    assert failed.error["code"] == "too_many_steps"
    assert "max_steps" in failed.error["message"] or "30" in failed.error["message"]
    rows = await steps_of(engine, tenant, over)
    assert len(rows) == 2  # the plan's own rows: no item was made
    assert rows["each"].state == "failed"


# --- subplans ------------------------------------------------------------------------------


def subplan(key: str, plan_id: UUID, *, wait: bool = True) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.SUBPLAN,
        subplan=SubplanStep(plan_id=plan_id, wait=wait),
    )


async def tree(ex: Execution, tenant: UUID, root: UUID) -> list[Any]:
    """Every run of the tree under `root` (root included), as (id, status, depth)."""
    rows = await ex.owner_sql(
        """
        WITH RECURSIVE t AS (
            SELECT execution_id, status, 0 AS depth FROM executions WHERE execution_id = :root
            UNION ALL
            SELECT e.execution_id, e.status, t.depth + 1
              FROM executions e JOIN t ON e.parent_execution_id = t.execution_id
        )
        SELECT execution_id, status, depth FROM t
        """,
        root=root,
    )
    return list(rows)


async def test_a_plan_that_runs_itself_stops_at_the_depth_bound(engine: Execution) -> None:
    tenant = uuid4()
    plan_id = uuid4()
    plan = await approve(engine, tenant, [subplan("again", plan_id)], plan_id=plan_id)
    with bounded(engine, max_subplan_depth=5):
        root = await run_plan(engine, tenant, plan)
        run = await wait_for(engine, tenant, root, within=60)
    assert run.status == "failed", run.error
    assert run.error is not None
    # the reason is the bound, named at the root, however deep it was met
    assert "subplan_depth_exceeded" in str(run.error)
    runs = await tree(engine, tenant, root)
    assert max(r.depth for r in runs) == 5
    assert len(runs) == 6
    assert {r.status for r in runs} == {"failed"}


async def test_a_plan_that_fans_out_into_itself_stops_at_the_runs_bound(engine: Execution) -> None:
    tenant = uuid4()
    plan_id = uuid4()
    steps = [subplan("one", plan_id, wait=False), subplan("two", plan_id, wait=False)]
    plan = await approve(engine, tenant, steps, plan_id=plan_id)
    with bounded(engine, max_subplan_depth=50, max_runs_per_root=20):
        root = await run_plan(engine, tenant, plan)
        # fire-and-forget children: the tree ends when no run in it is open any more
        for _ in range(600):
            runs = await tree(engine, tenant, root)
            if len(runs) >= 20 and not {r.status for r in runs} & {"running", "cancelling"}:
                break
            await _pause()
        else:
            raise AssertionError(f"the tree did not end: {len(runs)} runs")
    assert len(runs) == 20
    failed = await _errors(engine, tenant, [r.execution_id for r in runs if r.status == "failed"])
    assert failed
    assert all(code == "subplan_runs_exceeded" for code in failed)


async def test_cancelling_the_root_of_a_deep_tree_cancels_every_run(engine: Execution) -> None:
    tenant = uuid4()
    plan_id = uuid4()
    # each run waits on its child and on a long timer (no worker held), so the chain
    # stays open while it grows; the bounds are far off: it is cancelled mid-growth
    steps = [subplan("again", plan_id), wait("hold", 600_000)]
    plan = await approve(engine, tenant, steps, plan_id=plan_id)
    depth = 300
    with bounded(engine, max_subplan_depth=10_000, max_runs_per_root=10_000):
        root = await run_plan(engine, tenant, plan)
        for _ in range(2400):
            runs = await tree(engine, tenant, root)
            if len(runs) > depth:
                break
            await _pause()
        else:
            raise AssertionError(f"the chain reached {len(runs)} runs, not {depth}")
        async with engine.deps.uow(tenant) as uow:
            await control.cancel(control.Cancel(root, "stop it all"), uow, engine.deps)
            await uow.commit()
        # a run its engine was making as the cancel committed waited for the cancel's
        # locks, then found its step cancelled: no run of the tree is left open
        runs = await tree(engine, tenant, root)
    statuses = {r.status for r in runs}
    assert statuses == {"cancelled"}, statuses
    assert len(runs) > depth


async def _pause() -> None:
    import asyncio

    await asyncio.sleep(0.1)


async def _errors(ex: Execution, tenant: UUID, ids: list[UUID]) -> list[str]:
    codes = []
    for execution_id in ids:
        for key, step in (await steps_of(ex, tenant, execution_id)).items():
            if step.state == "failed" and step.error is not None:
                codes.append(step.error["code"])
                del key
    return codes


async def test_a_deep_chain_made_before_the_bounds_unwinds_once_its_plan_is_archived(
    engine: Execution,
) -> None:
    tenant = uuid4()
    plan_id = uuid4()
    steps = [subplan("again", plan_id), wait("hold", 600_000)]
    plan = await approve(engine, tenant, steps, plan_id=plan_id)
    depth = 300
    with bounded(engine, max_subplan_depth=10_000, max_runs_per_root=10_000):
        root = await run_plan(engine, tenant, plan)
        for _ in range(2400):
            runs = await tree(engine, tenant, root)
            if len(runs) > depth:
                break
            await _pause()
        else:
            raise AssertionError(f"the chain reached {len(runs)} runs, not {depth}")
        # as a tree made before runs knew their tree looks (the migration fills these in)
        await engine.owner_sql(
            "UPDATE executions SET root_execution_id = NULL, depth = 0 WHERE tenant_id = :t",
            t=tenant,
        )
        # archived: the deepest run's step cannot start its child; the chain fails with it
        async with engine.deps.uow(tenant) as uow:
            await uow.plans.archive(plan_id, datetime.now(UTC))
            await uow.commit()
        run = await wait_for(engine, tenant, root, within=120)
        runs = await tree(engine, tenant, root)
    assert run.status == "failed"
    assert run.error is not None
    origin = run.error["details"]["origin"]
    assert origin["code"] == "plan_not_runnable"
    assert {r.status for r in runs} == {"failed"}


async def test_a_long_chain_behind_a_branch_not_taken_is_skipped_whole(engine: Execution) -> None:
    tenant = uuid4()
    length = 1500
    check = PlanStep(
        key="check",
        name="check",
        kind=StepKind.CONDITION,
        condition=ConditionStep(expression="inputs.go", if_true=["c0"], if_false=[]),
    )
    chain = [tool(f"c{i}", deps=(f"c{i - 1}",) if i else ()) for i in range(length)]
    plan = await approve(engine, tenant, [check, *chain, tool("after", deps=("check",))])
    run_id = await run_plan(engine, tenant, plan, inputs={"go": False})
    run = await wait_for(engine, tenant, run_id, within=120)
    assert run.status == "completed", run.error
    rows = await steps_of(engine, tenant, run_id)
    assert {rows[f"c{i}"].state for i in range(length)} == {"skipped"}


async def test_a_start_under_a_run_past_the_bounds_is_a_422_problem(engine: Execution) -> None:
    tenant = uuid4()
    plan = await approve(engine, tenant, [wait("hold", 600_000)])
    root = await run_plan(engine, tenant, plan)
    command = StartRun(plan_id=plan.plan_id, plan_version=None, parent_execution_id=root)
    for limits, code in (
        ({"max_subplan_depth": 0}, "subplan_depth_exceeded"),
        ({"max_runs_per_root": 1}, "subplan_runs_exceeded"),
    ):
        with bounded(engine, **limits), pytest.raises(RunError) as refused:
            async with engine.deps.uow(tenant) as uow:
                await start(command, uow, engine.deps)
        assert refused.value.code == code
        problem = domain_problem(refused.value).problem.model_dump()
        assert problem["status"] == 422
        assert problem["code"] == code
    async with engine.deps.uow(tenant) as uow:
        await control.cancel(control.Cancel(root), uow, engine.deps)
        await uow.commit()


async def test_the_migration_fills_in_the_tree_of_runs_made_before_it(engine: Execution) -> None:
    tenant = uuid4()
    plan_id = uuid4()
    plan = await approve(engine, tenant, [subplan("again", plan_id)], plan_id=plan_id)
    with bounded(engine, max_subplan_depth=3):
        root = await run_plan(engine, tenant, plan)
        await wait_for(engine, tenant, root, within=60)
    before = {r.execution_id: r.depth for r in await tree(engine, tenant, root)}
    assert sorted(before.values()) == [0, 1, 2, 3]
    await engine.owner_sql(
        "UPDATE executions SET root_execution_id = NULL, depth = 0 WHERE tenant_id = :t",
        t=tenant,
    )
    fill = importlib.import_module("agentsuite_execution.migrations.versions.0005_run_trees")
    await engine.owner_sql(fill._FILL)
    rows = await engine.owner_sql(
        "SELECT execution_id, root_execution_id, depth FROM executions WHERE tenant_id = :t",
        t=tenant,
    )
    assert {r.execution_id: r.depth for r in rows} == before
    assert {r.root_execution_id for r in rows if r.execution_id != root} == {root}
    assert next(r.root_execution_id for r in rows if r.execution_id == root) is None
