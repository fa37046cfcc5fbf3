"""A domain move (domain.runs: `Step.succeed`, `Run.fail`, ...) made real: its columns
written through the repository, its events recorded, in the caller's transaction."""

from __future__ import annotations

from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.execution import StepFailed, StepSucceeded
from agentsuite_execution.domain.runs import Moved, Run, Step
from agentsuite_execution.engine.journal import record, record_step
from agentsuite_execution.uow import ExecutionUow


async def move_step(uow: ExecutionUow, run: Run, step: Step, moved: Moved) -> Step:
    """Write `step`'s move and record its events; the step's row as it is now."""
    done = await uow.steps.set(step.execution_id, step.key, **moved.values)
    for event in moved.events:
        # the row as moved: an agent's tally of its last calls may be newer than `step`
        record_step(uow, step, ran(done, event.payload), level=event.level)
    return done


def ran(step: Step, payload: Payload) -> Payload:
    """A step's end names the tool version that step ran (usage per tool version is
    counted from these events)."""
    if isinstance(payload, StepSucceeded | StepFailed):
        tool = step.tool_ran()
        if tool:
            return payload.model_copy(update=tool)
    return payload


async def move_run(uow: ExecutionUow, run: Run, moved: Moved) -> Run:
    """Write `run`'s move and record its events; the run's row as it is now."""
    done = await uow.executions.set(run.execution_id, **moved.values)
    for event in moved.events:
        record(uow, run.tenant_id, run.execution_id, event.payload, level=event.level)
    return done
