"""A domain move (domain.runs: `Step.succeed`, `Run.fail`, ...) made real: its columns
written through the repository, its events recorded, in the caller's transaction."""

from __future__ import annotations

from agentsuite_execution.domain.runs import Moved, Run, Step
from agentsuite_execution.engine.journal import record, record_step
from agentsuite_execution.uow import ExecutionUow


async def move_step(uow: ExecutionUow, run: Run, step: Step, moved: Moved) -> Step:
    """Write `step`'s move and record its events; the step's row as it is now."""
    done = await uow.steps.set(step.execution_id, step.key, **moved.values)
    for event in moved.events:
        record_step(uow, step, event.payload, level=event.level)
    return done


async def move_run(uow: ExecutionUow, run: Run, moved: Moved) -> Run:
    """Write `run`'s move and record its events; the run's row as it is now."""
    done = await uow.executions.set(run.execution_id, **moved.values)
    for event in moved.events:
        record(uow, run.tenant_id, run.execution_id, event.payload, level=event.level)
    return done
