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
