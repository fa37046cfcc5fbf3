"""A run's life as a whole: create, pause, resume, cancel (with compensations), rerun from
a failed step, and telling a parent run (a `subplan` step) how a child ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.execution import (
    ExecutionCancelled,
    ExecutionPaused,
    ExecutionResumed,
    ExecutionStarted,
)
from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_execution.domain import states
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.graph import Node, compile_plan, plan_key, steps_of
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.domain.states import STEP_OPEN, RunStatus, StepState
from agentsuite_execution.engine import flow, llm
from agentsuite_execution.engine.journal import record, wake
from agentsuite_execution.uow import ExecutionUow

CANCEL_CHANNEL = "execution_cancel"


async def create(
    uow: ExecutionUow, plan: PlanSnapshot, values: dict[str, Any], *, max_steps: int
) -> tuple[Run, bool]:
    """Create the run of `plan` with its steps; (run, created). A schedule slot that has
    a run already returns that run, not created."""
    nodes = compile_plan(plan, max_steps=max_steps)
    open_steps = sum(1 for n in nodes if not n.standby)
    run = await uow.executions.add({**values, "open_steps": open_steps})
    if run is None:
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
        done = await flow.conclude(uow, run.execution_id)
        assert done is not None
        return done, True
    return run, True


async def pause(uow: ExecutionUow, run: Run, *, reason: str | None, timers: str) -> Run:
    states.check_pause(run.status)
    await uow.steps.set_states(run.execution_id, [StepState.READY], StepState.HELD)
    done = await uow.executions.set(
        run.execution_id,
        status=RunStatus.PAUSED,
        paused_at=datetime.now(UTC),
        pause_timers=timers,
        pause_reason=reason,
    )
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        ExecutionPaused(execution_id=run.execution_id, reason=reason),
    )
    return done


async def resume(uow: ExecutionUow, run: Run) -> Run:
    states.check_resume(run.status)
    if run.pause_timers == "freeze" and run.paused_at is not None:
        await uow.timers.shift(
            run.execution_id, datetime.now(UTC) - run.paused_at, set_before=run.paused_at
        )
    done = await uow.executions.set(
        run.execution_id, status=RunStatus.RUNNING, paused_at=None, pause_reason=None
    )
    held = await uow.steps.set_states(
        run.execution_id, [StepState.HELD], StepState.READY, queued_at=datetime.now(UTC)
    )
    record(uow, run.tenant_id, run.execution_id, ExecutionResumed(execution_id=run.execution_id))
    if held:
        await wake(uow)
    return done


async def cancel(uow: ExecutionUow, run: Run, *, reason: str | None, tree: bool = True) -> Run:
    """Stop the run: open steps are cancelled, then the compensation of every succeeded
    step that names one runs; the run is `cancelled` when they have. `tree`: the runs
    under it are stopped too (False: the caller stops them)."""
    states.check_cancel(run.status)
    if tree:
        await close_open(uow, run)
    else:
        await _close_own(uow, run)
    succeeded = await uow.steps.of(run.execution_id, states=[StepState.SUCCEEDED])
    undo: dict[str, Any] = {}
    for s in succeeded:
        compensation = s.plan_step.compensation
        if compensation is not None:
            undo[compensation] = s.output
    for key, output in undo.items():
        await uow.steps.set(
            run.execution_id,
            key,
            state=StepState.READY,
            item={"var": "compensated", "value": output, "index": None},
            queued_at=datetime.now(UTC),
        )
    await uow.executions.open_steps(run.execution_id, len(undo))
    run = await uow.executions.set(
        run.execution_id,
        status=RunStatus.CANCELLING,
        error={"code": "cancelled", "message": reason or "cancelled", "retryable": False},
        paused_at=None,
    )
    if not undo:
        return await cancelled(uow, run)
    await wake(uow)
    return run


async def cancelled(uow: ExecutionUow, run: Run) -> Run:
    done = await uow.executions.set(
        run.execution_id, status=RunStatus.CANCELLED, finished_at=datetime.now(UTC)
    )
    reason = (run.error or {}).get("message")
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        ExecutionCancelled(execution_id=run.execution_id, reason=reason),
    )
    await tell_parent(uow, done)
    return done


async def close_open(uow: ExecutionUow, run: Run) -> None:
    """Cancel every open step, approval, LLM call and timer of the run, and every run
    under it that is still going; engines running one of their steps are told to stop.

    The runs under it, all levels, are stopped in a loop over a queue, never by
    recursion: a plan that ran itself made trees thousands deep. Each run is locked
    before its children are read: a child an engine was starting there is committed by
    then, or its engine waits and finds its step cancelled.
    """
    await _close_own(uow, run)
    queue = [c.execution_id for c in await uow.executions.children(run.execution_id)]
    while queue:
        # locked before its steps, as engines lock them: no deadlock with one
        child = await uow.executions.get(queue.pop(), lock=True)
        if child is None or child.status in _STOPPED:
            continue  # its own stop closed what is under it
        if child.status in _GOING:
            await cancel(uow, child, reason="parent execution stopped", tree=False)
        # a completed run's fire-and-forget children may still be going
        queue += [c.execution_id for c in await uow.executions.children(child.execution_id)]


_GOING = (RunStatus.RUNNING, RunStatus.PAUSED)
_STOPPED = (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.CANCELLING)


async def _close_own(uow: ExecutionUow, run: Run) -> None:
    """`close_open` of the run alone."""
    # a step between attempts keeps its last attempt's record (a rerun's reset steps too)
    candidates = [StepState.RUNNING, StepState.WAITING, StepState.HELD]
    live = [s for s in await uow.steps.of(run.execution_id, states=candidates) if s.under_way]
    closed = await uow.steps.set_states(
        run.execution_id,
        list(STEP_OPEN),
        StepState.CANCELLED,
        finished_at=datetime.now(UTC),
        lease_owner=None,
        lease_until=None,
    )
    await uow.executions.open_steps(run.execution_id, -len(closed))
    for s in live:
        await uow.steps.finish_attempt(s, "cancelled")
    await uow.approvals.close_pending(run.execution_id, "cancelled")
    await llm.release(uow, run.execution_id)
    await uow.timers.cancel(run.execution_id)
    uow.notify(CANCEL_CHANNEL, str(run.execution_id))


async def rerun(uow: ExecutionUow, run: Run, *, from_step: str | None) -> Run:  # noqa: C901  rerun's checks and its reset walk share one snapshot; splits with the engine rework (issue 15 #8)
    """Run a failed (or cancelled) run again: succeeded steps keep their outputs and are
    not run again, except `from_step` and what depends on it when it is named."""
    states.check_rerun(run.status)
    steps = {s.key: s for s in await uow.steps.of(run.execution_id)}
    if from_step is not None and from_step not in steps:
        raise RunError("invalid", f"no step {from_step!r} in this execution", field="from_step")
    plan = await uow.executions.snapshot(run.execution_id)
    nodes = {n.key: n for n in compile_plan(plan, max_steps=len(steps) + 1)}
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
    again = {k for k in again if not _under_succeeded(nodes, steps, k)}
    for key in {k for k in again if nodes[k].kind == "map"}:
        await uow.steps.delete_instances(run.execution_id, key)
    generation = run.generation + 1
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
    done = await uow.executions.set(
        run.execution_id,
        status=RunStatus.RUNNING,
        error=None,
        failed_step=None,
        finished_at=None,
        paused_at=None,
        generation=generation,
        open_steps=len(again),
        exceeded=[],
    )
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        ExecutionResumed(
            execution_id=run.execution_id,
            rerun_from=from_step or run.failed_step,
            generation=generation,
        ),
    )
    if ready:
        await wake(uow)
    if not again:
        concluded = await flow.conclude(uow, run.execution_id)
        assert concluded is not None
        return concluded
    return done


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


async def tell_parent(uow: ExecutionUow, child: Run) -> None:
    """A child run (of a `subplan` step that waits) ended: its step ends the same way.

    Its parent may end with it, and tell its own parent: those calls are queued and
    told here in a loop, not nested (a tree thousands deep unwinds in one transaction).
    """
    if child.parent_execution_id is None or child.parent_step is None:
        return
    queue = uow.ended_runs
    queue.append(child)
    if len(queue) > 1:
        return  # an outer call is telling: it tells this one too
    try:
        while queue:
            await _tell(uow, queue[0])
            queue.pop(0)
    finally:
        queue.clear()


async def _tell(uow: ExecutionUow, child: Run) -> None:
    assert child.parent_execution_id is not None
    assert child.parent_step is not None
    parent = await uow.executions.get(child.parent_execution_id, lock=True)
    if parent is None:
        return
    step = await uow.steps.get(parent.execution_id, child.parent_step, lock=True)
    if step is None or step.state != StepState.WAITING:
        return
    if child.status == RunStatus.COMPLETED:
        output = {"execution_id": str(child.execution_id), "outputs": child.outputs or {}}
        await flow.succeed(uow, parent, step, output)
    else:
        origin = _origin(child)
        error = ErrorInfo(
            code="subplan_" + child.status,
            message=f"sub-execution {child.execution_id} {child.status}: {origin['message']}",
            details={"execution_id": str(child.execution_id), "origin": origin},
        )
        await flow.fail(uow, parent, step, error)
    await flow.conclude(uow, parent.execution_id)


def _origin(child: Run) -> dict[str, Any]:
    """Where a child's failure began, flat: the first run of the chain that failed for a
    reason of its own. Nesting each level's error in the next was as deep as the tree
    (thousands of levels: past what JSON serializers take)."""
    error = child.error or {}
    found = (error.get("details") or {}).get("origin")
    # only a subplan step's error carries one: a tool's details are the tool's own
    if str(error.get("code", "")).startswith("subplan_") and isinstance(found, dict):
        return found
    return {
        "execution_id": str(child.execution_id),
        "step": child.failed_step,
        "code": error.get("code", child.status),
        "message": error.get("message", child.status),
    }


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


def _under_succeeded(nodes: dict[str, Node], steps: dict[str, Any], key: str) -> bool:
    parent = nodes[key].parent
    return parent is not None and steps[parent].state == StepState.SUCCEEDED
