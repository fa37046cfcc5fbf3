"""How a run moves on when one of its steps ends well or will not run: the step's own
move, its dependants, its container. Every function runs inside the run's transaction,
with the run's row locked (`uow.executions.get(id, lock=True)`), so finishes of one run
are ordered and its counters stay exact. Failures and the run's own end are
engine.ends'; what a container does when a child ends is engine.containers'.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from agentsuite_contracts.common import Usage
from agentsuite_contracts.execution import StepSkipped
from agentsuite_contracts.steps import StepKind
from agentsuite_execution.domain import runs as domain
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import READYING, SKIPPABLE, RunStatus, StepState
from agentsuite_execution.engine import taking as taking_on
from agentsuite_execution.engine.instant import inline
from agentsuite_execution.engine.journal import record_step, wake
from agentsuite_execution.engine.moves import move_step
from agentsuite_execution.uow import ExecutionUow

# A child's end moves its container (engine.containers), which moves on through this
# module: the one call up the engine's layers, wired once by engine/__init__.py.
ChildDone = Callable[[ExecutionUow, Run, Step, str], Awaitable[None]]
_child_done: list[ChildDone] = []


def containers_told_by(child_done: ChildDone) -> None:
    """Where a container hears that a child ended (engine.containers.child_done)."""
    _child_done[:] = [child_done]


# steps to skip, with their run and why: `skip`'s queue while it is skipping
_skipping: ContextVar[list[tuple[Run, Step, str]] | None] = ContextVar(
    "engine_skipping", default=None
)


def elapsed_ms(since: datetime | None) -> int:
    return domain.elapsed_ms(since, datetime.now(UTC))


async def succeed(
    uow: ExecutionUow,
    run: Run,
    step: Step,
    output: Any,
    *,
    usage: Usage | None = None,
) -> None:
    """`step` succeeded with `output`; its dependants and container move on."""
    done = await move_step(uow, run, step, step.succeed(output, usage=usage, now=datetime.now(UTC)))
    await uow.steps.finish_attempt(step, "succeeded", tokens=done.tokens, cost=done.cost)
    await finished(uow, run, done, "ok")


async def skip(uow: ExecutionUow, run: Run, step: Step, reason: str) -> None:
    """`step` will not run; a step that already ended (or runs) is left alone.

    What its skip skips in turn (its dependants, a parallel's branches) is queued and
    skipped here in a loop, not nested: a chain of thousands of steps behind a branch
    not taken was a RecursionError.
    """
    queue = _skipping.get()
    if queue is not None:
        queue.append((run, step, reason))
        return  # an outer call is skipping: it skips this one too
    queue = [(run, step, reason)]
    token = _skipping.set(queue)
    try:
        while queue:
            await _skip(uow, *queue[0])
            queue.pop(0)
    finally:
        _skipping.reset(token)


async def _skip(uow: ExecutionUow, run: Run, step: Step, reason: str) -> None:
    changed = await uow.steps.set_many(
        run.execution_id,
        [step.key],
        where_state=list(SKIPPABLE),
        state=StepState.SKIPPED,
        finished_at=datetime.now(UTC),
    )
    if not changed:
        return
    done = changed[0]
    record_step(
        uow,
        step,
        StepSkipped(execution_id=run.execution_id, step=step.key, reason=reason),
    )
    await finished(uow, run, done, "skipped")
    if step.kind == StepKind.PARALLEL:
        # its branches' gates will never open
        for child in await uow.steps.children(run.execution_id, step.key):
            await skip(uow, run, child, "its parallel step was skipped")


async def finished(uow: ExecutionUow, run: Run, step: Step, outcome: str) -> None:
    """`step` reached an end (`ok`, `failed` softly, `skipped`): count it, resolve its
    dependants, tell its container. The run's own end is `ends.conclude`'s."""
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
        if not _child_done:
            raise RuntimeError(
                "engine.containers is not wired (import agentsuite_execution.engine)"
            )
        await _child_done[0](uow, run, step, outcome)


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
    taking = taking_on.current()
    if taking is not None and run.status == RunStatus.RUNNING and taking.left > 0:
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
        where_state=list(READYING),
        state=StepState.HELD if paused else StepState.READY,
        queued_at=datetime.now(UTC),
        lease_owner=None,
        lease_until=None,
    )
    if not paused:
        taking = taking_on.current()
        if taking is not None:
            taking.readied.extend((run.execution_id, k) for k in keys)
        await wake(uow)


async def wait(uow: ExecutionUow, run: Run, step: Step, checkpoint: dict[str, Any]) -> Step:
    """`step` waits (a timer, an approval, an answer, its children) with `checkpoint`."""
    return await move_step(uow, run, step, step.wait(checkpoint))
