"""The state machine of steps and runs (domain.states) and the moves that follow it
(domain.runs: `Step.succeed`, `Run.fail`, ...): each move is allowed exactly from the
states the table says, changes the columns it names and records its events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.execution import (
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionPaused,
    ExecutionResumed,
    StepFailed,
    StepRetrying,
    StepSucceeded,
)
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.runs import Moved, Run, Step
from agentsuite_execution.domain.states import (
    READYING,
    RUN_DONE,
    RUN_MOVES,
    SKIPPABLE,
    STEP_DONE,
    STEP_MOVES,
    STEP_OPEN,
    IllegalMove,
    RunStatus,
    StepState,
)
from tests.unit.execution.test_budget import run as make_run

NOW = datetime(2026, 1, 1, tzinfo=UTC)
ERROR = ErrorInfo(code="boom", message="it broke", retryable=True)


def step(state: StepState, **values: Any) -> Step:
    base: dict[str, Any] = {
        "tenant_id": uuid4(),
        "execution_id": uuid4(),
        "key": "s1",
        "kind": "tool",
        "spec": {"key": "s1", "kind": "tool", "tool": {"tool": "builtin.noop"}},
        "state": state,
        "deps_left": 0,
        "deps_total": 0,
        "deps_ok": 0,
        "deps_failed": 0,
        "dependents": [],
        "parent": None,
        "item": None,
        "attempt": 2,
        "failures": 0,
        "lease_losses": 0,
        "lease_owner": "w1",
        "lease_until": NOW,
        "run_after": None,
        "queued_at": None,
        "started_at": NOW - timedelta(milliseconds=1500),
        "finished_at": None,
        "output": None,
        "error": None,
        "checkpoint": None,
        "generation": 1,
        "tokens": 0,
        "cost": 0,
    }
    return Step(**{**base, **values})


def run(status: RunStatus, **values: Any) -> Run:
    return make_run(status=status, started_at=NOW - timedelta(seconds=3), **values)


# each step move by the state it moves to
STEP_MOVERS: dict[StepState, Callable[[Step], Moved]] = {
    StepState.SUCCEEDED: lambda s: s.succeed({"x": 1}, usage=None, now=NOW),
    StepState.FAILED: lambda s: s.fail(ERROR, now=NOW),
    StepState.RETRYING: lambda s: s.retry(ERROR, failures=1, losses=0, delay_ms=250, now=NOW),
    StepState.WAITING: lambda s: s.wait({"until": "later"}),
    StepState.HELD: lambda s: s.hold({"a": 1}, now=NOW),
    StepState.READY: lambda s: s.requeue({}, held=False, now=NOW),
}

# each run move by the state it moves to
RUN_MOVERS: dict[RunStatus, Callable[[Run], Moved]] = {
    RunStatus.COMPLETED: lambda r: r.complete({"s1": 1}, now=NOW),
    RunStatus.FAILED: lambda r: r.fail(ERROR, step="s1", now=NOW),
    RunStatus.PAUSED: lambda r: r.pause(reason="budget", timers="count", now=NOW),
    RunStatus.CANCELLING: lambda r: r.cancel(reason="enough"),
    RunStatus.CANCELLED: lambda r: r.cancelled(now=NOW),
}


@pytest.mark.parametrize("source", list(StepState))
@pytest.mark.parametrize("target", list(STEP_MOVERS))
def test_a_step_moves_only_as_the_table_says(source: StepState, target: StepState) -> None:
    mover = STEP_MOVERS[target]
    if target in STEP_MOVES[source]:
        moved = mover(step(source))
        assert moved.values["state"] == target
    else:
        with pytest.raises(IllegalMove, match=f"from {source} to {target}"):
            mover(step(source))


def test_requeue_while_paused_holds() -> None:
    moved = step(StepState.WAITING).requeue({"k": 1}, held=True, now=NOW)
    assert moved.values == {"state": StepState.HELD, "queued_at": NOW, "checkpoint": {"k": 1}}
    assert moved.events == ()


def test_the_table_is_consistent_with_the_engine_sets_of_states() -> None:
    # a finished step moves no more (a rerun resets it: no move)
    assert all(not STEP_MOVES[s] for s in STEP_DONE)
    # every open step can be cancelled, and only an open one
    assert {s for s, to in STEP_MOVES.items() if StepState.CANCELLED in to} == set(STEP_OPEN)
    # the bulk moves take steps only from states the table lets move there
    assert all(StepState.SKIPPED in STEP_MOVES[s] for s in SKIPPABLE)
    assert all({StepState.READY, StepState.HELD} <= STEP_MOVES[s] for s in READYING)
    # pause holds the ready steps, resume makes the held ones ready
    assert StepState.HELD in STEP_MOVES[StepState.READY]
    assert StepState.READY in STEP_MOVES[StepState.HELD]
    # a finished run moves only by a rerun
    assert all(RUN_MOVES[s] <= {RunStatus.RUNNING} for s in RUN_DONE)


def test_succeed_lets_go_of_the_lease_and_records_the_attempt() -> None:
    moved = step(StepState.RUNNING).succeed({"x": 1}, usage=None, now=NOW)
    assert moved.values == {
        "state": StepState.SUCCEEDED,
        "output": {"x": 1},
        "error": None,
        "lease_owner": None,
        "lease_until": None,
        "finished_at": NOW,
    }
    [event] = moved.events
    assert isinstance(event.payload, StepSucceeded)
    assert (event.payload.attempt, event.payload.duration_ms) == (2, 1500)
    assert event.level == "info"


def test_retry_records_the_failed_attempt_then_the_retry() -> None:
    moved = step(StepState.RUNNING).retry(ERROR, failures=2, losses=1, delay_ms=250, now=NOW)
    assert moved.values["run_after"] == NOW + timedelta(milliseconds=250)
    assert (moved.values["failures"], moved.values["lease_losses"]) == (2, 1)
    failed, retrying = moved.events
    assert isinstance(failed.payload, StepFailed)
    assert failed.payload.final is False
    assert failed.level == "warning"
    assert isinstance(retrying.payload, StepRetrying)
    assert (retrying.payload.next_attempt, retrying.payload.delay_ms) == (3, 250)


def test_fail_for_good_is_an_error() -> None:
    moved = step(StepState.WAITING).fail(ERROR, now=NOW)
    [event] = moved.events
    assert isinstance(event.payload, StepFailed)
    assert event.payload.final is True
    assert event.level == "error"
    assert moved.values["error"] == ERROR.model_dump(mode="json")


def test_hold_continues_the_same_attempt() -> None:
    moved = step(StepState.RUNNING).hold({"messages": []}, now=NOW)
    assert moved.values["checkpoint"] == {"messages": [], "continue": True}
    assert moved.values["lease_owner"] is None


@pytest.mark.parametrize("source", list(RunStatus))
@pytest.mark.parametrize("target", list(RUN_MOVERS))
def test_a_run_moves_only_as_the_table_says(source: RunStatus, target: RunStatus) -> None:
    mover = RUN_MOVERS[target]
    if target in RUN_MOVES[source]:
        assert mover(run(source)).values["status"] == target
    else:
        # a command's own rule refuses it first (409), else the table
        with pytest.raises((IllegalMove, RunError)):
            mover(run(source))


@pytest.mark.parametrize("source", list(RunStatus))
def test_resume_and_rerun_follow_the_table(source: RunStatus) -> None:
    movers: list[Callable[[Run], Moved]] = [
        lambda r: r.resume(),
        lambda r: r.rerun(from_step=None, open_steps=2),
    ]
    for mover in movers:
        try:
            moved = mover(run(source))
        except (IllegalMove, RunError):
            continue
        assert moved.values["status"] == RunStatus.RUNNING
        assert RunStatus.RUNNING in RUN_MOVES[source]


def test_run_events() -> None:
    used = run(RunStatus.RUNNING, tokens_used=30, prompt_tokens=10, completion_tokens=20)
    [completed] = used.complete({"s1": 1}, now=NOW).events
    assert isinstance(completed.payload, ExecutionCompleted)
    assert completed.payload.duration_ms == 3000
    assert completed.payload.usage is not None
    assert completed.payload.usage.total_tokens == 30
    [failed] = run(RunStatus.PAUSED).fail(ERROR, step="s1", now=NOW).events
    assert isinstance(failed.payload, ExecutionFailed)
    assert (failed.payload.step, failed.level) == ("s1", "error")
    [paused] = run(RunStatus.RUNNING).pause(reason="budget", timers="freeze", now=NOW).events
    assert isinstance(paused.payload, ExecutionPaused)
    cancelling = run(RunStatus.RUNNING).cancel(reason=None)
    assert cancelling.events == ()
    assert cancelling.values["error"]["message"] == "cancelled"
    [cancelled] = run(RunStatus.CANCELLING, error={"message": "enough"}).cancelled(now=NOW).events
    assert isinstance(cancelled.payload, ExecutionCancelled)
    assert cancelled.payload.reason == "enough"
    rerun = run(RunStatus.FAILED, failed_step="s2", generation=3).rerun(
        from_step=None, open_steps=4
    )
    [resumed] = rerun.events
    assert isinstance(resumed.payload, ExecutionResumed)
    assert (resumed.payload.rerun_from, resumed.payload.generation) == ("s2", 4)
    assert (rerun.values["generation"], rerun.values["open_steps"]) == (4, 4)


RUN_COMMANDS: dict[str, Callable[[Run], Moved]] = {
    **{str(k): v for k, v in RUN_MOVERS.items()},
    "resume": lambda r: r.resume(),
    "rerun": lambda r: r.rerun(from_step=None, open_steps=1),
}


@given(st.lists(st.sampled_from(sorted(RUN_COMMANDS)), max_size=30))
def test_any_walk_of_a_run_stays_in_the_table(commands: list[str]) -> None:
    """Whatever commands come, in any order: each is refused or makes a move the table
    has; a finished run only moves again by a rerun."""
    current = run(RunStatus.RUNNING)
    for name in commands:
        before = RunStatus(current.status)
        try:
            moved = RUN_COMMANDS[name](current)
        except (IllegalMove, RunError):
            continue
        after = RunStatus(moved.values["status"])
        assert after in RUN_MOVES[before]
        if before in RUN_DONE:
            assert name == "rerun"
        current = replace(current, **moved.values)


@given(st.lists(st.sampled_from(sorted(STEP_MOVERS)), max_size=30))
def test_any_walk_of_a_step_stays_in_the_table(targets: list[StepState]) -> None:
    current = step(StepState.RUNNING)
    for target in targets:
        before = StepState(current.state)
        try:
            moved = STEP_MOVERS[target](current)
        except IllegalMove:
            assert target not in STEP_MOVES[before]
            continue
        assert target in STEP_MOVES[before]
        current = replace(current, **moved.values)
