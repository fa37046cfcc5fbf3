"""Review of the engine: runs that must end (and end right) in corners of containers,
join-any and rerun, each found hanging or crashing before its fix."""

from __future__ import annotations

from uuid import UUID, uuid4

import pytest

from agentsuite_contracts.steps import (
    ApprovalStep,
    ConditionStep,
    MapStep,
    ParallelStep,
    PlanStep,
    RetryPolicy,
    StepKind,
    SubplanStep,
    ToolStep,
)
from agentsuite_execution.domain.states import STEP_OPEN
from agentsuite_execution.handlers import control
from tests.integration.execution.engine_support import (
    approve,
    get_run,
    run_plan,
    steps_of,
    wait_for,
    wait_step,
)
from tests.integration.execution.harness import Execution

pytestmark = pytest.mark.integration


def tool(key: str, name: str = "echo", deps: tuple[str, ...] = (), **data: object) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=list(deps),
        tool=ToolStep(tool=f"builtin.{name}", input=data),
    )


def nap(key: str, ms: int, deps: tuple[str, ...] = ()) -> PlanStep:
    return tool(key, "sleep", deps, ms=ms)


def fan(key: str, branches: list[list[str]], join: str = "all") -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.PARALLEL,
        parallel=ParallelStep(branches=branches, join=join),  # type: ignore[arg-type]
    )


def each(key: str, items: str, body: list[str], deps: tuple[str, ...] = ()) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.MAP,
        depends_on=list(deps),
        map=MapStep(items=items, item_var="x", body=body, max_concurrency=1),
    )


async def _rerun(ex: Execution, tenant: UUID, run_id: UUID, from_step: str | None) -> None:
    async with ex.deps.uow(tenant) as uow:
        await control.rerun(control.Rerun(run_id, from_step), uow, ex.deps)
        await uow.commit()


async def _cancel(ex: Execution, tenant: UUID, run_id: UUID) -> None:
    async with ex.deps.uow(tenant) as uow:
        await control.cancel(control.Cancel(run_id, "review"), uow, ex.deps)
        await uow.commit()


async def _nothing_open(ex: Execution, tenant: UUID, run_id: UUID) -> None:
    run = await get_run(ex, tenant, run_id)
    found = await steps_of(ex, tenant, run_id)
    assert [k for k, s in found.items() if s.state in STEP_OPEN] == []
    assert run.open_steps == 0


async def test_join_any_skips_an_outside_step_waiting_on_a_cancelled_branch(
    engine: Execution,
) -> None:
    tenant = uuid4()
    steps = [
        fan("race", [["quick"], ["slow", "slow2"]], join="any"),
        nap("quick", 100),
        nap("slow", 3000),
        tool("slow2", v=2),
        tool("after", "echo", ("slow2",), v=3),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert found["race"].state == "succeeded"
    assert found["slow2"].state == "cancelled"
    assert found["after"].state == "skipped"
    await _nothing_open(engine, tenant, run_id)


async def test_join_any_closes_the_items_of_a_map_in_a_losing_branch(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        fan("race", [["quick"], ["loop"]], join="any"),
        nap("quick", 1000),
        each("loop", "${inputs.xs}", ["body"]),
        nap("body", 1500),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan, inputs={"xs": [1, 2, 3]})
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert found["loop"].state == "cancelled"
    assert {found[f"body[{i}]"].state for i in (1, 2)} == {"cancelled"}
    await _nothing_open(engine, tenant, run_id)


async def test_rerun_of_a_cancelled_parallel_counts_its_branches_that_succeeded(
    engine: Execution,
) -> None:
    tenant = uuid4()
    steps = [
        fan("both", [["done"], ["long"]]),
        tool("done", v=1),
        nap("long", 1500),
        tool("after", "echo", ("both",), all="${steps.both.output}"),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    await wait_step(engine, tenant, run_id, "done", "succeeded")
    await wait_step(engine, tenant, run_id, "long", "running")
    await _cancel(engine, tenant, run_id)
    assert (await wait_for(engine, tenant, run_id)).status == "cancelled"
    await _rerun(engine, tenant, run_id, None)
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    assert run.outputs == {"after": {"all": [{"v": 1}, None]}}
    await _nothing_open(engine, tenant, run_id)


async def test_rerun_from_an_item_of_a_map_reruns_the_map(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        each("loop", "${inputs.xs}", ["double"]),
        tool("double", v="${x}"),
        nap("later", 1500, ("loop",)),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan, inputs={"xs": [1, 2]})
    await wait_step(engine, tenant, run_id, "later", "running")
    await _cancel(engine, tenant, run_id)
    assert (await wait_for(engine, tenant, run_id)).status == "cancelled"
    before = await steps_of(engine, tenant, run_id)
    await _rerun(engine, tenant, run_id, "double[1]")
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    after = await steps_of(engine, tenant, run_id)
    assert after["double[1]"].generation > before["double[1]"].generation
    assert after["loop"].output == [{"v": 1}, {"v": 2}]
    await _nothing_open(engine, tenant, run_id)


async def test_join_any_closes_the_attempt_of_a_branch_step_it_cancels(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        fan("race", [["quick"], ["slow"]], join="any"),
        nap("quick", 300),
        nap("slow", 2000),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert found["slow"].state == "cancelled"
    assert found["slow"].finished_at is not None
    async with engine.deps.uow(tenant) as uow:
        rows = [a for a in await uow.steps.attempts_of(run_id) if a["key"] == "slow"]
    # as a cancelled run's attempts are: closed, not left `running` forever
    assert [(a["status"], a["finished_at"] is not None) for a in rows] == [("cancelled", True)]


async def test_a_failing_compensation_is_retried_by_its_policy(engine: Execution) -> None:
    tenant = uuid4()
    undo = tool("unbook", "fail", code="down", retryable=True)
    undo = undo.model_copy(update={"retry": RetryPolicy(max_attempts=3, initial_delay_ms=50)})
    steps = [
        tool("book", v=7).model_copy(update={"compensation": "unbook"}),
        undo,
        nap("pay", 3000, ("book",)),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    await wait_step(engine, tenant, run_id, "pay", "running")
    await _cancel(engine, tenant, run_id)
    await wait_for(engine, tenant, run_id, within=20)
    found = await steps_of(engine, tenant, run_id)
    # a compensation is what a cancel runs: its policy holds as in a running run
    assert (found["unbook"].state, found["unbook"].attempt) == ("failed", 3)


async def test_a_rerun_after_a_cancel_runs_the_compensated_steps_again(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        tool("book", v=7).model_copy(update={"compensation": "unbook"}),
        tool("unbook", undo="${compensated}"),
        nap("pay", 1500, ("book",)),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    await wait_step(engine, tenant, run_id, "pay", "running")
    await _cancel(engine, tenant, run_id)
    assert (await wait_for(engine, tenant, run_id)).status == "cancelled"
    before = await steps_of(engine, tenant, run_id)
    assert before["unbook"].state == "succeeded"
    await _rerun(engine, tenant, run_id, None)
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    after = await steps_of(engine, tenant, run_id)
    # the booking was undone: the run's outputs must not rest on it
    assert after["book"].generation > before["book"].generation
    assert after["unbook"].state == "standby"
    await _nothing_open(engine, tenant, run_id)


async def test_join_any_keeps_the_record_of_a_failed_attempt_it_does_not_retry(
    engine: Execution,
) -> None:
    tenant = uuid4()
    flaky = tool("flaky", "fail", code="down", retryable=True)
    flaky = flaky.model_copy(update={"retry": RetryPolicy(max_attempts=3, initial_delay_ms=5000)})
    steps = [fan("race", [["quick"], ["flaky"]], join="any"), nap("quick", 800), flaky]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert found["flaky"].state == "cancelled"
    async with engine.deps.uow(tenant) as uow:
        rows = [a for a in await uow.steps.attempts_of(run_id) if a["key"] == "flaky"]
    # it was between attempts (retrying): its one attempt failed, and stays so
    assert [a["status"] for a in rows] == ["failed"]


async def test_join_any_closes_the_approval_of_a_branch_step_it_cancels(engine: Execution) -> None:
    tenant = uuid4()
    ask = PlanStep(
        key="ask",
        name="ask",
        kind=StepKind.APPROVAL,
        approval=ApprovalStep(prompt="go?", approvers=[str(uuid4())]),
    )
    steps = [fan("race", [["quick"], ["ask"]], join="any"), nap("quick", 800), ask]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    async with engine.deps.uow(tenant) as uow:
        approvals = await uow.approvals.of(run_id)
    # an ended run asks no one anything
    assert [a["state"] for a in approvals] == ["cancelled"]


async def test_join_any_cancels_the_child_run_of_a_branch_step_it_cancels(
    engine: Execution,
) -> None:
    tenant = uuid4()
    child = await approve(engine, tenant, [nap("long", 5000)], plan_id=uuid4())
    sub = PlanStep(
        key="sub",
        name="sub",
        kind=StepKind.SUBPLAN,
        subplan=SubplanStep(plan_id=child.plan_id),
    )
    steps = [fan("race", [["quick"], ["sub"]], join="any"), nap("quick", 800), sub]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    async with engine.deps.uow(tenant) as uow:
        children = await uow.executions.children(run_id)
    # its step was cancelled: nothing waits for what it started
    assert [c.status for c in children] in ([], ["cancelled"])
    assert children, "the subplan step started no child run"


async def test_a_branch_head_whose_only_dependency_was_skipped_is_skipped(
    engine: Execution,
) -> None:
    tenant = uuid4()
    check = PlanStep(
        key="check",
        name="check",
        kind=StepKind.CONDITION,
        condition=ConditionStep(expression="inputs.go", if_true=["x"], if_false=[]),
    )
    head = tool("h", "echo", ("x",), v="h")
    steps = [check, tool("x", v="x"), fan("both", [["h"], ["o"]]), head, tool("o", v="o")]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan, inputs={"go": False})
    run = await wait_for(engine, tenant, run_id, within=20)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert found["x"].state == "skipped"
    # the gate opening is no succeeded dependency: h waited on x alone
    assert found["h"].state == "skipped"
