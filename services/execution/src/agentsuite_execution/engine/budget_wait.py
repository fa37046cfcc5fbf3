"""A call that fits what its run has spent but not what other calls in flight hold beside
it waits for them: holds are upper bounds (a prompt's byte count, the full `max_tokens`)
that settle to far less a moment later, so counting them as spent stopped runs far below
their budget (issue 14 #6).

The step is put `waiting` (the same attempt, `continue`, no call out, marked `WAITS`) and
made ready again by the next settle of the run (`wake`: an answer, or a call abandoned by
its timeout timer or a stop), when it reserves again: it goes on, waits again (holds still
in the way) or meets the limit (what is spent leaves too little: `on_limit`). What bounds
the wait: a step waits only while another step's call is pending with a hold (checked under
the run's row lock, the lock every settle takes, so no settle is missed), and each pending
call settles once, at the latest when its timeout fires; so a step is woken at most as often
as calls settle, never waits on its own hold, and all steps cannot wait on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import RunStatus, StepState
from agentsuite_execution.engine import journal
from agentsuite_execution.engine.moves import move_step
from agentsuite_execution.uow import ExecutionUow

# the checkpoint mark of a step waiting for calls in flight to settle
WAITS = "budget_wait"


@dataclass(frozen=True)
class Wait:
    """The call fits what is spent but not what calls in flight hold beside it: it waits
    for them to settle (`limit`: the dimension it waits on)."""

    limit: str


async def wait(uow: ExecutionUow, run: Run, step: Step, checkpoint: dict[str, Any]) -> None:
    """The call waits for calls in flight to settle (`Wait`): `step` is `waiting`, the same
    attempt, until `wake` makes it ready again (or the run closes it)."""
    await move_step(uow, run, step, step.wait({**checkpoint, "continue": True, WAITS: True}))


async def wake(uow: ExecutionUow, run: Run) -> None:
    """A call of the run settled (answered or abandoned) and released what it held: the
    steps waiting for that try again (held instead while the run is paused)."""
    waiting = [
        s
        for s in await uow.steps.of(run.execution_id, states=[StepState.WAITING])
        if (s.checkpoint or {}).get(WAITS)
    ]
    if not waiting:
        return
    paused = run.status == RunStatus.PAUSED
    for s in waiting:
        checkpoint = {k: v for k, v in (s.checkpoint or {}).items() if k != WAITS}
        await move_step(uow, run, s, s.requeue(checkpoint, held=paused, now=datetime.now(UTC)))
    if not paused:
        await journal.wake(uow)
