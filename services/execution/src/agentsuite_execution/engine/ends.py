"""How steps fail and runs end: an attempt failing (retried, or for good), the run's end
(completed, failed, cancelled with its compensations), and telling a parent run (a
`subplan` step) how a child ended. Like engine.flow, inside the run's transaction with
its row locked.

A run's end may end its parent's step, whose end may end that run, and so on up a tree
thousands deep: those tellings are queued and done in a loop (`tell_parent`), never by
recursion; so are the stops of the runs under a stopped one (`close_open`).
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.steps import OnError
from agentsuite_execution.domain.retry import may_retry, retries, wait_ms
from agentsuite_execution.domain.runs import Run, Step, error_json
from agentsuite_execution.domain.states import STEP_OPEN, RunStatus, StepState
from agentsuite_execution.engine import calls, flow
from agentsuite_execution.engine.journal import wake
from agentsuite_execution.engine.moves import move_run, move_step
from agentsuite_execution.uow import ExecutionUow

CANCEL_CHANNEL = "execution_cancel"

_GOING = (RunStatus.RUNNING, RunStatus.PAUSED)
_STOPPED = (RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.CANCELLING)

# runs that ended and have a parent to tell: `tell_parent`'s queue while it is telling
_ended: ContextVar[list[Run] | None] = ContextVar("engine_ended_runs", default=None)


# --- a step fails -----------------------------------------------------------------------


async def fail(
    uow: ExecutionUow,
    run: Run,
    step: Step,
    error: ErrorInfo,
    *,
    lost: bool = False,
    lease_loss_limit: int = 10,
) -> None:
    """An attempt of `step` failed: retry it after the policy's back-off, or fail it for
    good (and the run with it, unless the step says `on_error: continue`).

    `lost`: the worker died (its lease ran out). That is not the step's fault: it is
    retried at once without using the policy's attempts, up to `lease_loss_limit` times.
    """
    spec = step.plan_step
    failures = step.failures + (0 if lost else 1)
    losses = step.lease_losses + (1 if lost else 0)
    await uow.steps.finish_attempt(step, "lost" if lost else "failed", error=error_json(error))
    # a cancelling run's compensations are what runs: they are retried as in a live run
    live = run.status in (RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.CANCELLING)
    retry = live and (
        (lost and losses <= lease_loss_limit)
        or (not lost and retries(spec.retry, error) and may_retry(spec.retry, failures))
    )
    if not retry:
        await failed(uow, run, step, error, failures=failures, lease_losses=losses)
        return
    delay = 0 if lost else wait_ms(spec.retry, failures, error)
    moved = step.retry(
        error, failures=failures, losses=losses, delay_ms=delay, now=datetime.now(UTC)
    )
    await move_step(uow, run, step, moved)
    due = moved.values["run_after"]
    await uow.timers.add(run.execution_id, "retry", due, key=step.key, attempt=step.attempt)


async def failed(
    uow: ExecutionUow,
    run: Run,
    step: Step,
    error: ErrorInfo,
    *,
    fails_run: bool = False,
    **values: Any,
) -> None:
    """`step` failed for good (its attempt's row is closed already): its row (plus
    `values`), `execution.step.failed`, then its dependants go on (`on_error: continue`)
    or the run fails with it (always, when `fails_run`)."""
    moved = step.fail(error, now=datetime.now(UTC))
    done = await move_step(uow, run, step, replace(moved, values={**moved.values, **values}))
    if step.plan_step.on_error == OnError.CONTINUE and not fails_run:
        await flow.finished(uow, run, done, "failed")
        return
    # its end counts here: fail_run's close_open only counts the steps still open
    await uow.executions.open_steps(run.execution_id, -1)
    await fail_run(uow, run, error, step=step.key)


# --- the run ends -----------------------------------------------------------------------


async def conclude(uow: ExecutionUow, execution_id: UUID) -> Run | None:
    """End the run if no step is left open: completed (or cancelled, when cancelling).
    The run as it is now; None if it is gone."""
    run = await uow.executions.get(execution_id, lock=True)
    if run is None or run.open_steps > 0:
        return run
    if run.status == RunStatus.CANCELLING:
        return await cancelled(uow, run)
    if run.status not in (RunStatus.RUNNING, RunStatus.PAUSED):
        return run
    outputs = await _outputs(uow, run)
    done = await move_run(uow, run, run.complete(outputs, now=datetime.now(UTC)))
    await uow.timers.cancel(run.execution_id)
    await tell_parent(uow, done)
    return done


async def fail_run(uow: ExecutionUow, run: Run, error: ErrorInfo, *, step: str | None) -> Run:
    """The run fails: open steps are cancelled (running attempts learn it when they
    finish), pending approvals and LLM calls are closed, timers dropped."""
    await close_open(uow, run)
    # as it is now: what it used may have been settled since `run` was read
    current = await uow.executions.get(run.execution_id, lock=True) or run
    done = await move_run(uow, current, current.fail(error, step=step, now=datetime.now(UTC)))
    await tell_parent(uow, done)
    return done


async def cancel(uow: ExecutionUow, run: Run, *, reason: str | None, tree: bool = True) -> Run:
    """Stop the run: open steps are cancelled, then the compensation of every succeeded
    step that names one runs; the run is `cancelled` when they have. `tree`: the runs
    under it are stopped too (False: the caller stops them)."""
    moved = run.cancel(reason=reason)
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
    run = await move_run(uow, run, moved)
    if not undo:
        return await cancelled(uow, run)
    await wake(uow)
    return run


async def cancelled(uow: ExecutionUow, run: Run) -> Run:
    done = await move_run(uow, run, run.cancelled(now=datetime.now(UTC)))
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
    await calls.release(uow, run.execution_id)
    await uow.timers.cancel(run.execution_id)
    uow.notify(CANCEL_CHANNEL, str(run.execution_id))


# --- a child run tells its parent -------------------------------------------------------


async def tell_parent(uow: ExecutionUow, child: Run) -> None:
    """A child run (of a `subplan` step that waits) ended: its step ends the same way.

    Its parent may end with it, and tell its own parent: those calls are queued and
    told here in a loop, not nested (a tree thousands deep unwinds in one transaction).
    """
    if child.parent_execution_id is None or child.parent_step is None:
        return
    queue = _ended.get()
    if queue is not None:
        queue.append(child)
        return  # an outer call is telling: it tells this one too
    queue = [child]
    token = _ended.set(queue)
    try:
        while queue:
            await _tell(uow, queue[0])
            queue.pop(0)
    finally:
        _ended.reset(token)


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
        await fail(uow, parent, step, error)
    await conclude(uow, parent.execution_id)


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


async def _outputs(uow: ExecutionUow, run: Run) -> dict[str, Any]:
    """The run's outputs: each succeeded step's output that no other step consumed (the
    plan's leaves), by key."""
    steps = await uow.steps.of(run.execution_id, states=[StepState.SUCCEEDED])
    return {
        s.key: s.output
        for s in steps
        if not s.dependents and s.parent is None and s.output is not None
    }
