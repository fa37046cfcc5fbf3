"""How a run moves when one of its steps finishes: the step's own state, its dependants,
its container, and the run's end. Every function runs inside the run's transaction, with
the run's row locked (`uow.executions.get(id, lock=True)`), so finishes of one run are
ordered and its counters stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from agentsuite_contracts.common import ErrorInfo, Money, Usage
from agentsuite_contracts.execution import (
    ExecutionCompleted,
    ExecutionFailed,
    StepFailed,
    StepRetrying,
    StepSkipped,
    StepSucceeded,
)
from agentsuite_contracts.steps import OnError, StepKind
from agentsuite_execution.domain.retry import delay_ms, may_retry
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import RunStatus, StepState
from agentsuite_execution.engine.journal import record, wake
from agentsuite_execution.uow import ExecutionUow


def elapsed_ms(since: datetime | None) -> int:
    if since is None:
        return 0
    return max(0, int((datetime.now(UTC) - since).total_seconds() * 1000))


def usage_of(run: Run) -> Usage | None:
    if run.tokens_used == 0 and run.cost_used == 0:
        return None
    return Usage(
        prompt_tokens=run.prompt_tokens,
        completion_tokens=run.completion_tokens,
        total_tokens=run.prompt_tokens + run.completion_tokens,
        cost=Money(amount_micros=run.cost_used, currency=run.currency),
    )


async def succeed(
    uow: ExecutionUow,
    run: Run,
    step: Step,
    output: Any,
    *,
    usage: Usage | None = None,
) -> None:
    """`step` succeeded with `output`; its dependants and container move on."""
    done = await uow.steps.set(
        run.execution_id,
        step.key,
        state=StepState.SUCCEEDED,
        output=output,
        error=None,
        lease_owner=None,
        lease_until=None,
        finished_at=datetime.now(UTC),
    )
    await uow.steps.finish_attempt(step, "succeeded", tokens=done.tokens, cost=done.cost)
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        StepSucceeded(
            execution_id=run.execution_id,
            step=step.key,
            attempt=max(step.attempt, 1),
            output=output,
            duration_ms=elapsed_ms(step.started_at),
            usage=usage,
        ),
        key=step.key,
    )
    await finished(uow, run, done, "ok")


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
    await uow.steps.finish_attempt(step, "lost" if lost else "failed", error=_json(error))
    # a cancelling run's compensations are what runs: they are retried as in a live run
    live = run.status in (RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.CANCELLING)
    retry = live and (
        (lost and losses <= lease_loss_limit)
        or (not lost and error.retryable and may_retry(spec.retry, failures))
    )
    if not retry:
        await failed(uow, run, step, error, failures=failures, lease_losses=losses)
        return
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        StepFailed(
            execution_id=run.execution_id,
            step=step.key,
            attempt=max(step.attempt, 1),
            error=error,
            final=False,
            duration_ms=elapsed_ms(step.started_at),
        ),
        key=step.key,
        level="warning",
    )
    delay = 0 if lost else delay_ms(spec.retry, failures)
    due = datetime.now(UTC) + timedelta(milliseconds=delay)
    await uow.steps.set(
        run.execution_id,
        step.key,
        state=StepState.RETRYING,
        failures=failures,
        lease_losses=losses,
        error=_json(error),
        lease_owner=None,
        lease_until=None,
        run_after=due,
    )
    await uow.timers.add(run.execution_id, "retry", due, key=step.key, attempt=step.attempt)
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        StepRetrying(
            execution_id=run.execution_id,
            step=step.key,
            next_attempt=step.attempt + 1,
            delay_ms=delay,
            error=error,
        ),
        key=step.key,
    )


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
    done = await uow.steps.set(
        run.execution_id,
        step.key,
        state=StepState.FAILED,
        error=_json(error),
        lease_owner=None,
        lease_until=None,
        finished_at=datetime.now(UTC),
        **values,
    )
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        StepFailed(
            execution_id=run.execution_id,
            step=step.key,
            attempt=max(step.attempt, 1),
            error=error,
            final=True,
            duration_ms=elapsed_ms(step.started_at),
        ),
        key=step.key,
        level="error",
    )
    if step.plan_step.on_error == OnError.CONTINUE and not fails_run:
        await finished(uow, run, done, "failed")
        return
    # its end counts here: fail_run's close_open only counts the steps still open
    await uow.executions.open_steps(run.execution_id, -1)
    await fail_run(uow, run, error, step=step.key)


async def skip(uow: ExecutionUow, run: Run, step: Step, reason: str) -> None:
    """`step` will not run; a step that already ended (or runs) is left alone.

    What its skip skips in turn (its dependants, a parallel's branches) is queued and
    skipped here in a loop, not nested: a chain of thousands of steps behind a branch
    not taken was a RecursionError.
    """
    queue = uow.skipping
    queue.append((run, step, reason))
    if len(queue) > 1:
        return  # an outer call is skipping: it skips this one too
    try:
        while queue:
            await _skip(uow, *queue[0])
            queue.pop(0)
    finally:
        queue.clear()


async def _skip(uow: ExecutionUow, run: Run, step: Step, reason: str) -> None:
    changed = await uow.steps.set_many(
        run.execution_id,
        [step.key],
        where_state=[StepState.BLOCKED, StepState.READY, StepState.HELD],
        state=StepState.SKIPPED,
        finished_at=datetime.now(UTC),
    )
    if not changed:
        return
    done = changed[0]
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        StepSkipped(execution_id=run.execution_id, step=step.key, reason=reason),
        key=step.key,
    )
    await finished(uow, run, done, "skipped")
    if step.kind == StepKind.PARALLEL:
        # its branches' gates will never open
        for child in await uow.steps.children(run.execution_id, step.key):
            await skip(uow, run, child, "its parallel step was skipped")


async def finished(uow: ExecutionUow, run: Run, step: Step, outcome: str) -> None:
    """`step` reached an end (`ok`, `failed` softly, `skipped`): count it, resolve its
    dependants, tell its container. The run's own end is `conclude`'s."""
    from agentsuite_execution.engine import containers  # containers call back into here

    await uow.executions.open_steps(run.execution_id, -1)
    not_taken: set[str] = set()
    if step.kind == StepKind.CONDITION and outcome == "ok":
        spec = step.plan_step.condition
        assert spec is not None
        taken = bool(isinstance(step.output, dict) and step.output.get("result"))
        not_taken = set(spec.if_false if taken else spec.if_true)
    dependents = [d for d in step.dependents if d not in not_taken]
    resolved = await uow.steps.resolve(
        run.execution_id, dependents, ok=outcome == "ok", failed=outcome == "failed"
    )
    resolved += await uow.steps.resolve(run.execution_id, sorted(not_taken), ok=False, failed=False)
    await release(uow, run, [s for s in resolved if s.deps_left == 0])
    if step.parent is not None:
        await containers.child_done(uow, run, step, outcome)


@dataclass
class Taking:
    """An engine's transaction takes instant builtins on as they become ready (see
    engine/local.py): leased straight from `blocked`, `left` more at most."""

    owner: str
    lease: float
    left: int
    taken: list[Step] = field(default_factory=list)


async def release(uow: ExecutionUow, run: Run, steps: list[Step]) -> None:
    """Steps whose dependencies all finished: ready when none failed and one succeeded
    (or they had none), else skipped."""
    ready: list[str] = []
    for s in steps:
        if s.deps_failed == 0 and (s.deps_ok > 0 or s.deps_total == 0):
            ready.append(s.key)
        else:
            why = "a dependency failed" if s.deps_failed else "its dependencies were skipped"
            await skip(uow, run, s, why)
    taking = uow.taking
    if isinstance(taking, Taking) and run.status == RunStatus.RUNNING and taking.left > 0:
        from agentsuite_execution.engine.local import inline

        rows = {s.key: s for s in steps}
        instant = [k for k in ready if inline(rows[k])][: taking.left]
        if instant:
            taken = await uow.steps.take(
                run.execution_id, instant, owner=taking.owner, lease=taking.lease
            )
            taking.taken.extend(taken)
            taking.left -= len(taken)
            done = {t.key for t in taken}
            ready = [k for k in ready if k not in done]
    await make_ready(uow, run, ready)


async def make_ready(uow: ExecutionUow, run: Run, keys: list[str]) -> None:
    """Queue `keys` for the workers (held while the run is paused)."""
    if not keys:
        return
    paused = run.status == RunStatus.PAUSED
    await uow.steps.set_many(
        run.execution_id,
        keys,
        where_state=[StepState.BLOCKED, StepState.RETRYING, StepState.WAITING],
        state=StepState.HELD if paused else StepState.READY,
        queued_at=datetime.now(UTC),
        lease_owner=None,
        lease_until=None,
    )
    if not paused:
        uow.readied.extend((run.execution_id, k) for k in keys)
        await wake(uow)


async def conclude(uow: ExecutionUow, execution_id: Any) -> Run | None:
    """End the run if no step is left open: completed (or cancelled, when cancelling).
    The run as it is now; None if it is gone."""
    from agentsuite_execution.engine import runs

    run = await uow.executions.get(execution_id, lock=True)
    if run is None or run.open_steps > 0:
        return run
    if run.status == RunStatus.CANCELLING:
        return await runs.cancelled(uow, run)
    if run.status not in (RunStatus.RUNNING, RunStatus.PAUSED):
        return run
    outputs = await _outputs(uow, run)
    done = await uow.executions.set(
        run.execution_id,
        status=RunStatus.COMPLETED,
        outputs=outputs,
        finished_at=datetime.now(UTC),
    )
    await uow.timers.cancel(run.execution_id)
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        ExecutionCompleted(
            execution_id=run.execution_id,
            outputs=outputs,
            duration_ms=elapsed_ms(run.started_at),
            usage=usage_of(done),
        ),
    )
    await runs.tell_parent(uow, done)
    return done


async def fail_run(uow: ExecutionUow, run: Run, error: ErrorInfo, *, step: str | None) -> Run:
    """The run fails: open steps are cancelled (running attempts learn it when they
    finish), pending approvals and LLM calls are closed, timers dropped."""
    from agentsuite_execution.engine import runs

    await runs.close_open(uow, run)
    done = await uow.executions.set(
        run.execution_id,
        status=RunStatus.FAILED,
        error=_json(error),
        failed_step=step,
        finished_at=datetime.now(UTC),
    )
    record(
        uow,
        run.tenant_id,
        run.execution_id,
        ExecutionFailed(
            execution_id=run.execution_id,
            error=error,
            step=step,
            duration_ms=elapsed_ms(run.started_at),
            usage=usage_of(done),
        ),
        level="error",
    )
    await runs.tell_parent(uow, done)
    return done


async def _outputs(uow: ExecutionUow, run: Run) -> dict[str, Any]:
    """The run's outputs: each succeeded step's output that no other step consumed (the
    plan's leaves), by key."""
    steps = await uow.steps.of(run.execution_id, states=[StepState.SUCCEEDED])
    return {
        s.key: s.output
        for s in steps
        if not s.dependents and s.parent is None and s.output is not None
    }


def _json(error: ErrorInfo) -> dict[str, Any]:
    return error.model_dump(mode="json")
