"""The engine on real PostgreSQL and a real broker: step kinds, dependencies, containers,
retries, control of a run (pause, resume, cancel with compensation, rerun)."""

from __future__ import annotations

from uuid import uuid4

import pytest

from agentsuite_contracts.steps import (
    ConditionStep,
    MapStep,
    OnError,
    ParallelStep,
    PlanStep,
    RetryPolicy,
    StepKind,
    ToolStep,
    WaitStep,
)
from agentsuite_execution.handlers import control
from tests.integration.execution.engine_support import (
    approve,
    run_plan,
    steps_of,
    wait_for,
    wait_step,
)
from tests.integration.execution.harness import Execution

pytestmark = pytest.mark.integration


def tool(key: str, name: str = "noop", deps: tuple[str, ...] = (), **kw: object) -> PlanStep:
    data = kw.pop("input", {})
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=list(deps),
        tool=ToolStep(tool=f"builtin.{name}", input=data),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


async def test_a_chain_runs_in_order_and_completes(engine: Execution) -> None:
    tenant = uuid4()
    steps = [tool("s0", "echo", input={"n": 0})]
    steps += [tool(f"s{i}", "echo", (f"s{i - 1}",), input={"n": i}) for i in range(1, 10)]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert all(s.state == "succeeded" for s in found.values())
    starts = [found[f"s{i}"].started_at or 0 for i in range(10)]
    assert starts == sorted(starts)
    assert run.outputs == {"s9": {"n": 9}}


async def test_references_carry_outputs_and_inputs(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        tool("a", "echo", input={"who": "${inputs.name}"}),
        tool("b", "echo", ("a",), input={"greeting": "hello ${steps.a.output.who}"}),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan, inputs={"name": "ada"})
    run = await wait_for(engine, tenant, run_id)
    assert run.outputs == {"b": {"greeting": "hello ada"}}


async def test_a_condition_runs_one_branch_and_the_join(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        PlanStep(
            key="check",
            name="check",
            kind=StepKind.CONDITION,
            condition=ConditionStep(expression="inputs.n > 1", if_true=["big"], if_false=["small"]),
        ),
        tool("big", "echo", input={"size": "big"}),
        tool("small", "echo", input={"size": "small"}),
        tool("join", "echo", ("big", "small"), input={"done": True}),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan, inputs={"n": 5})
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert found["big"].state == "succeeded"
    assert found["small"].state == "skipped"
    assert found["join"].state == "succeeded"


async def test_parallel_branches_join_all(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        PlanStep(
            key="fan",
            name="fan",
            kind=StepKind.PARALLEL,
            parallel=ParallelStep(branches=[["a1", "a2"], ["b1"], ["c1"]], max_concurrency=2),
        ),
        tool("a1", "echo", input={"x": "a1"}),
        tool("a2", "echo", input={"x": "a2"}),
        tool("b1", "echo", input={"x": "b1"}),
        tool("c1", "echo", input={"x": "c1"}),
        tool("after", "echo", ("fan",), input={"all": "${steps.fan.output}"}),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "completed", run.error
    assert run.outputs == {"after": {"all": [{"x": "a2"}, {"x": "b1"}, {"x": "c1"}]}}


async def test_map_runs_its_body_per_item(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        PlanStep(
            key="each",
            name="each",
            kind=StepKind.MAP,
            map=MapStep(items="${inputs.xs}", item_var="x", body=["double"], max_concurrency=3),
        ),
        tool("double", "echo", input={"v": "${x}"}),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan, inputs={"xs": [1, 2, 3, 4, 5]})
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "completed", run.error
    assert run.outputs == {"each": [{"v": i} for i in [1, 2, 3, 4, 5]]}


async def test_a_failing_step_is_retried_then_fails_the_run(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        tool(
            "flaky",
            "fail",
            input={"code": "boom", "message": "no", "retryable": True},
            retry=RetryPolicy(max_attempts=3, initial_delay_ms=10, backoff=1.0),
        ),
        tool("never", "noop", ("flaky",)),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "failed"
    assert run.failed_step == "flaky"
    found = await steps_of(engine, tenant, run_id)
    assert found["flaky"].attempt == 3
    assert found["flaky"].failures == 3
    assert found["never"].state == "cancelled"


async def test_on_error_continue_skips_dependants_but_completes(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        tool("bad", "fail", input={"code": "x", "message": "y"}, on_error=OnError.CONTINUE),
        tool("after_bad", "noop", ("bad",)),
        tool("fine", "echo", input={"ok": 1}),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert found["bad"].state == "failed"
    assert found["after_bad"].state == "skipped"


async def test_pause_holds_new_steps_and_resume_finishes(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        PlanStep(key="nap", name="nap", kind=StepKind.WAIT, wait=WaitStep(duration_ms=300)),
        tool("next", "noop", ("nap",)),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    await wait_step(engine, tenant, run_id, "nap", "waiting")
    async with engine.deps.uow(tenant) as uow:
        await control.pause(control.Pause(run_id, "look", "count"), uow, engine.deps)
        await uow.commit()
    # the wait fires while paused (timers count), but `next` is held
    await wait_step(engine, tenant, run_id, "next", "held")
    async with engine.deps.uow(tenant) as uow:
        await control.resume(control.Resume(run_id), uow, engine.deps)
        await uow.commit()
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "completed"


async def test_cancel_runs_compensations_of_succeeded_steps(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        tool("book", "echo", input={"booking": 7}, compensation="unbook"),
        tool("unbook", "echo", input={"undo": "${compensated}"}),
        PlanStep(
            key="nap",
            name="nap",
            kind=StepKind.WAIT,
            depends_on=["book"],
            wait=WaitStep(duration_ms=60_000),
        ),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    await wait_step(engine, tenant, run_id, "nap", "waiting")
    async with engine.deps.uow(tenant) as uow:
        await control.cancel(control.Cancel(run_id, "changed my mind"), uow, engine.deps)
        await uow.commit()
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "cancelled"
    found = await steps_of(engine, tenant, run_id)
    assert found["unbook"].state == "succeeded"
    assert found["unbook"].output == {"undo": {"booking": 7}}
    assert found["nap"].state == "cancelled"


async def test_rerun_from_a_failed_step_keeps_earlier_outputs(engine: Execution) -> None:
    tenant = uuid4()
    steps = [tool("s1", "echo", input={"n": 1})]
    steps.append(
        tool("s2", "fail", ("s1",), input={"code": "x", "message": "y"}),
    )
    steps.append(tool("s3", "echo", ("s2",), input={"n": 3}))
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    failed = await wait_for(engine, tenant, run_id)
    assert failed.status == "failed"
    before = await steps_of(engine, tenant, run_id)
    async with engine.deps.uow(tenant) as uow:
        await control.rerun(control.Rerun(run_id), uow, engine.deps)
        await uow.commit()
    again = await wait_for(engine, tenant, run_id)
    assert again.status == "failed"  # the builtin fails again: only s2 ran again
    after = await steps_of(engine, tenant, run_id)
    assert after["s1"].attempt == before["s1"].attempt == 1
    assert after["s2"].attempt == 2
    assert again.generation == 2


async def test_a_condition_on_a_step_output_as_a_bare_path(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        tool("score", "echo", input={"value": 0.2}),
        PlanStep(
            key="check",
            name="check",
            kind=StepKind.CONDITION,
            depends_on=["score"],
            condition=ConditionStep(
                expression="steps.score.output.value < 0.5", if_true=["low"], if_false=["high"]
            ),
        ),
        tool("low", "echo", input={"band": "low"}),
        tool("high", "echo", input={"band": "high"}),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan)
    run = await wait_for(engine, tenant, run_id)
    assert run.status == "completed", run.error
    found = await steps_of(engine, tenant, run_id)
    assert (found["low"].state, found["high"].state) == ("succeeded", "skipped")


async def test_map_items_as_a_bare_path(engine: Execution) -> None:
    tenant = uuid4()
    steps = [
        PlanStep(
            key="each",
            name="each",
            kind=StepKind.MAP,
            map=MapStep(items="inputs.xs", body=["show"]),
        ),
        tool("show", "echo", input={"v": "${item}"}),
    ]
    plan = await approve(engine, tenant, steps)
    run_id = await run_plan(engine, tenant, plan, inputs={"xs": ["a", "b"]})
    run = await wait_for(engine, tenant, run_id)
    assert run.outputs == {"each": [{"v": "a"}, {"v": "b"}]}
