"""Commands on a run as a whole: create, pause, resume, rerun from a failed step, and the
bounds of a tree of subplan runs. How a run ends (and is cancelled) is engine.ends'."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentsuite_contracts.execution import ExecutionStarted
from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_execution.domain import states
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.graph import Node, compile_plan, plan_key, steps_of
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.engine import ends
from agentsuite_execution.engine.journal import record, wake
from agentsuite_execution.engine.moves import move_run
from agentsuite_execution.uow import ExecutionUow


async def create(
    uow: ExecutionUow, plan: PlanSnapshot, values: dict[str, Any], *, max_steps: int
) -> tuple[Run, bool]:
    """Create the run of `plan` with its steps; (run, created). A schedule slot or a
    trigger's delivery that has a run already returns that run, not created."""
    nodes = compile_plan(plan, max_steps=max_steps)
    open_steps = sum(1 for n in nodes if not n.standby)
    run = await uow.executions.add({**values, "open_steps": open_steps})
    if run is None:
        if values.get("trigger_id") is not None:
            existing = await uow.executions.by_delivery(values["trigger_id"], values["delivery_id"])
        else:
            existing = await uow.executions.by_slot(values["schedule_id"], values["due_at"])
        assert existing is not None
        return existing, False
    ready = await uow.steps.add(run.execution_id, nodes, generation=1, held=False)
    limits = run.limits
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        ExecutionStarted(
            execution_id=run.execution_id,
            plan_id=run.plan_id,
            plan_version=run.plan_version,
            trigger=run.trigger,
            schedule_id=run.schedule_id,
            trigger_id=run.trigger_id,
            delivery_id=run.delivery_id,
            inputs=run.inputs,
            budget=limits,
            step_count=len(nodes),
        ),
    )
    if limits is not None and limits.max_duration_ms is not None:
        try:
            due = run.started_at + timedelta(milliseconds=limits.max_duration_ms)
        except OverflowError:
            due = None  # past year 9999: a wall-clock budget no run reaches needs no timer
        if due is not None:
            await uow.timers.add(run.execution_id, "budget", due)
    if ready:
        await wake(uow)
    if open_steps == 0:
        done = await ends.conclude(uow, run.execution_id)
        assert done is not None
        return done, True
    return run, True


async def pause(uow: ExecutionUow, run: Run, *, reason: str | None, timers: str) -> Run:
    moved = run.pause(reason=reason, timers=timers, now=datetime.now(UTC))
    await uow.steps.set_states(run.execution_id, [StepState.READY], StepState.HELD)
    return await move_run(uow, run, moved)


async def resume(uow: ExecutionUow, run: Run) -> Run:
    moved = run.resume()
    if run.pause_timers == "freeze" and run.paused_at is not None:
        await uow.timers.shift(
            run.execution_id, datetime.now(UTC) - run.paused_at, set_before=run.paused_at
        )
    done = await move_run(uow, run, moved)
    held = await uow.steps.set_states(
        run.execution_id, [StepState.HELD], StepState.READY, queued_at=datetime.now(UTC)
    )
    if held:
        await wake(uow)
    return done


async def rerun(uow: ExecutionUow, run: Run, *, from_step: str | None) -> Run:
    """Run a failed (or cancelled) run again: succeeded steps keep their outputs and are
    not run again, except `from_step` and what depends on it when it is named."""
    states.check_rerun(run.status)
    steps = {s.key: s for s in await uow.steps.of(run.execution_id)}
    if from_step is not None and from_step not in steps:
        raise RunError("invalid", f"no step {from_step!r} in this execution", field="from_step")
    plan = await uow.executions.snapshot(run.execution_id)
    nodes = {n.key: n for n in compile_plan(plan, max_steps=len(steps) + 1)}
    again = _again(plan, nodes, steps, from_step)
    moved = run.rerun(from_step=from_step, open_steps=len(again))
    for key in {k for k in again if nodes[k].kind == "map"}:
        await uow.steps.delete_instances(run.execution_id, key)
    ready = await _reset(uow, run, nodes, again, generation=moved.values["generation"])
    done = await move_run(uow, run, moved)
    if ready:
        await wake(uow)
    if not again:
        concluded = await ends.conclude(uow, run.execution_id)
        assert concluded is not None
        return concluded
    return done


def _again(
    plan: PlanSnapshot, nodes: dict[str, Node], steps: dict[str, Step], from_step: str | None
) -> set[str]:
    """The steps a rerun runs again: those that did not succeed, `from_step` and what
    depends on it, and what a cancel undid."""
    again = {k for k, s in steps.items() if s.state != StepState.SUCCEEDED and k in nodes}
    if from_step is not None:
        start = plan_key(from_step)
        # a map's items are not nodes: rerunning one reruns its map (it makes them afresh)
        start = next((s.key for s in steps_of(plan) if s.map and start in s.map.body), start)
        again |= _downstream(nodes, start)
    # a step a cancel undid (its compensation ran) is done again, and what used its output
    for k, n in nodes.items():
        undo = n.spec.get("compensation")
        if undo in steps and steps[undo].state != StepState.STANDBY:
            again |= _downstream(nodes, k)
    again -= {k for k, n in nodes.items() if n.standby}
    # children of a container that succeeded (`join: any`) stay as they ended
    return {k for k in again if not _under_succeeded(nodes, steps, k)}


async def _reset(
    uow: ExecutionUow, run: Run, nodes: dict[str, Node], again: set[str], *, generation: int
) -> list[str]:
    """Put the steps run again back as a new run's (compensations back on standby); the
    keys of those ready at once."""
    ready: list[str] = []
    for key in sorted(again):
        node = nodes[key]
        left = [d for d in node.depends_on if d in again]
        gate = 1 if node.gated and node.parent in again else 0
        state = StepState.READY if not left and not gate else StepState.BLOCKED
        if state == StepState.READY:
            ready.append(key)
        await uow.steps.set(
            run.execution_id,
            key,
            state=state,
            deps_left=len(left) + gate,
            deps_ok=len(node.depends_on) - len(left),
            deps_failed=0,
            failures=0,
            lease_losses=0,
            lease_owner=None,
            lease_until=None,
            output=None,
            error=None,
            finished_at=None,
            generation=generation,
            queued_at=datetime.now(UTC) if state == StepState.READY else None,
        )
    for key in {k for k, n in nodes.items() if n.standby}:
        await uow.steps.set(run.execution_id, key, state=StepState.STANDBY, item=None)
    return ready


async def lineage(
    uow: ExecutionUow, parent: Run, *, max_depth: int, max_runs: int
) -> dict[str, Any]:
    """The tree columns of a run `parent` starts (a `subplan` step): its root and depth.
    Refused (`RunError`) past the depth bound or the tree's runs bound."""
    depth = parent.depth + 1
    if depth > max_depth:
        raise RunError(
            "subplan_depth_exceeded",
            f"a sub-execution of {parent.execution_id} would be {depth} levels deep; "
            f"at most {max_depth} (max_subplan_depth)",
        )
    # counted first without the tree's lock (a count only grows: a refusal needs none),
    # so a refused step's transaction, which then stops runs of the tree, holds no lock
    # an engine starting a run there waits for
    runs = await uow.executions.tree_runs(parent.root)
    if runs < max_runs:
        runs = await uow.executions.tree_runs(parent.root, lock=True)
    if runs >= max_runs:
        raise RunError(
            "subplan_runs_exceeded",
            f"the tree of execution {parent.root} has {runs} runs already; "
            f"at most {max_runs} (max_runs_per_root)",
        )
    return {"root_execution_id": parent.root, "depth": depth}


def _downstream(nodes: dict[str, Node], key: str) -> set[str]:
    found = {key}
    frontier = [key]
    while frontier:
        current = nodes.get(frontier.pop())
        if current is None:
            continue
        following = list(current.dependents)
        following += [n.key for n in nodes.values() if n.parent == current.key]
        for k in following:
            if k not in found:
                found.add(k)
                frontier.append(k)
    return found


def _under_succeeded(nodes: dict[str, Node], steps: dict[str, Step], key: str) -> bool:
    parent = nodes[key].parent
    return parent is not None and steps[parent].state == StepState.SUCCEEDED
