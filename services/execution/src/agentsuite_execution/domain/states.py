"""The states of an execution and of its steps, and which commands each allows.

Execution: `running` -> `paused` <-> `running`; `running`/`paused` -> `cancelling` (its
compensations run) -> `cancelled`; `running` -> `completed` | `failed`; `failed` (and
`cancelled`) -> `running` again by a rerun from a failed step.

Step: `standby` (a compensation, outside the normal flow), `blocked` (dependencies open),
`ready` (claimable), `held` (ready, but the run is paused), `running` (claimed, leased),
`waiting` (for a timer, an approval, an LLM answer, its children), `retrying` (back-off
timer), then `succeeded`, `failed`, `skipped` or `cancelled`.
"""

from __future__ import annotations

from enum import StrEnum

from agentsuite_execution.domain.errors import RunError


class RunStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    CANCELLING = "cancelling"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


class StepState(StrEnum):
    STANDBY = "standby"
    BLOCKED = "blocked"
    READY = "ready"
    HELD = "held"
    RUNNING = "running"
    WAITING = "waiting"
    RETRYING = "retrying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"


RUN_DONE = frozenset({RunStatus.COMPLETED, RunStatus.FAILED, RunStatus.CANCELLED})
STEP_DONE = frozenset(
    {StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED, StepState.CANCELLED}
)
# a step in one of these may still do something (run, fire a timer, get an answer)
STEP_OPEN = frozenset(
    {
        StepState.BLOCKED,
        StepState.READY,
        StepState.HELD,
        StepState.RUNNING,
        StepState.WAITING,
        StepState.RETRYING,
    }
)


# The moves a step may make, from each state: what the engine's transitions check
# (`Step.succeed`, ...) and its bulk moves select on (`SKIPPABLE`, ...). A rerun's reset
# is no move: it puts a finished run's steps back to where a new run's start.
STEP_MOVES: dict[StepState, frozenset[StepState]] = {
    # a compensation is made ready by its run's cancel
    StepState.STANDBY: frozenset({StepState.READY}),
    StepState.BLOCKED: frozenset(
        {
            StepState.READY,
            StepState.HELD,
            StepState.RUNNING,  # an instant builtin taken on where it was released
            StepState.SKIPPED,
            StepState.CANCELLED,
        }
    ),
    StepState.READY: frozenset(
        {StepState.RUNNING, StepState.HELD, StepState.SKIPPED, StepState.CANCELLED}
    ),
    StepState.HELD: frozenset({StepState.READY, StepState.SKIPPED, StepState.CANCELLED}),
    StepState.RUNNING: frozenset(
        {
            StepState.SUCCEEDED,
            StepState.FAILED,
            StepState.RETRYING,
            StepState.WAITING,
            StepState.HELD,  # a call paused by its run's budget
            StepState.CANCELLED,
        }
    ),
    StepState.WAITING: frozenset(
        {
            StepState.SUCCEEDED,
            StepState.FAILED,
            StepState.RETRYING,
            StepState.WAITING,  # an agent's next turn, a call waiting on others' holds
            StepState.READY,
            StepState.HELD,
            StepState.CANCELLED,
        }
    ),
    StepState.RETRYING: frozenset({StepState.READY, StepState.HELD, StepState.CANCELLED}),
    StepState.SUCCEEDED: frozenset(),
    StepState.FAILED: frozenset(),
    StepState.SKIPPED: frozenset(),
    StepState.CANCELLED: frozenset(),
}

# where the bulk moves take steps from (each a subset of the table's sources of its target)
SKIPPABLE = (StepState.BLOCKED, StepState.READY, StepState.HELD)
# made ready (held while the run is paused) when what they waited for is done
READYING = (StepState.BLOCKED, StepState.RETRYING, StepState.WAITING)

# The moves of a run (a rerun makes a failed or cancelled one `running` again).
RUN_MOVES: dict[RunStatus, frozenset[RunStatus]] = {
    RunStatus.RUNNING: frozenset(
        {
            RunStatus.PAUSED,
            RunStatus.CANCELLING,
            RunStatus.COMPLETED,
            RunStatus.FAILED,
        }
    ),
    RunStatus.PAUSED: frozenset(
        {RunStatus.RUNNING, RunStatus.CANCELLING, RunStatus.COMPLETED, RunStatus.FAILED}
    ),
    # a compensation failing for good fails the run
    RunStatus.CANCELLING: frozenset({RunStatus.CANCELLED, RunStatus.FAILED}),
    RunStatus.COMPLETED: frozenset(),
    RunStatus.FAILED: frozenset({RunStatus.RUNNING}),
    RunStatus.CANCELLED: frozenset({RunStatus.RUNNING}),
}


class IllegalMove(Exception):
    """A transition the state machine does not have: an engine bug, never a user's
    command (those are refused by the `check_*` rules first, as `RunError`)."""


def check_step_move(state: str, to: StepState) -> None:
    if to not in STEP_MOVES[StepState(state)]:
        raise IllegalMove(f"a step cannot move from {state} to {to}")


def check_run_move(status: str, to: RunStatus) -> None:
    if to not in RUN_MOVES[RunStatus(status)]:
        raise IllegalMove(f"an execution cannot move from {status} to {to}")


def check_pause(status: str) -> None:
    if status != RunStatus.RUNNING:
        raise RunError("conflict", f"only a running execution can be paused; it is {status}")


def check_resume(status: str) -> None:
    if status != RunStatus.PAUSED:
        raise RunError("conflict", f"only a paused execution can be resumed; it is {status}")


def check_cancel(status: str) -> None:
    if status in RUN_DONE or status == RunStatus.CANCELLING:
        raise RunError("conflict", f"the execution is already {status}")


def check_rerun(status: str) -> None:
    if status not in (RunStatus.FAILED, RunStatus.CANCELLED):
        raise RunError(
            "conflict", f"only a failed or cancelled execution can be rerun; it is {status}"
        )


def check_signal(status: str) -> None:
    if status in RUN_DONE or status == RunStatus.CANCELLING:
        raise RunError("conflict", f"the execution is {status}; it takes no more signals")
