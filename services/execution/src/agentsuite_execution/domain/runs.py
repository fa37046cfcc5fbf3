"""An execution and its steps as the engine reads them (one row each), and their moves.

A move (`Step.succeed`, `Run.fail`, ...) is pure: it checks the state machine allows it
(domain.states) and returns a `Moved`, the columns that change and the events that say
so; the engine writes the one through the repository and records the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from agentsuite_contracts.common import ErrorInfo, Money, Usage
from agentsuite_contracts.envelope import Payload
from agentsuite_contracts.execution import (
    ExecutionCancelled,
    ExecutionCompleted,
    ExecutionFailed,
    ExecutionPaused,
    ExecutionResumed,
    StepFailed,
    StepRetrying,
    StepSucceeded,
    ToolCallsRan,
)
from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import Budget, PlanStep
from agentsuite_execution.domain import states
from agentsuite_execution.domain.states import RunStatus, StepState

# a step's move lets go of the worker's lease
_UNLEASED: dict[str, Any] = {"lease_owner": None, "lease_until": None}


@dataclass(frozen=True)
class Recorded:
    """An event a move records, with the level of its line in the run's log."""

    payload: Payload
    level: str = "info"


@dataclass(frozen=True)
class Moved:
    """A move of a step or a run: the columns it changes, the events it records."""

    values: dict[str, Any]
    events: tuple[Recorded, ...] = field(default=())


def elapsed_ms(since: datetime | None, now: datetime) -> int:
    if since is None:
        return 0
    return max(0, int((now - since).total_seconds() * 1000))


def error_json(error: ErrorInfo) -> dict[str, Any]:
    return error.model_dump(mode="json")


@dataclass(frozen=True)
class Run:
    tenant_id: UUID
    execution_id: UUID
    plan_id: UUID
    plan_version: int
    status: str
    trigger: str
    schedule_id: UUID | None
    due_at: datetime | None
    inputs: dict[str, Any]
    labels: dict[str, Any]
    budget: dict[str, Any] | None
    plan: dict[str, Any] | None
    manifest: dict[str, Any]
    outputs: dict[str, Any] | None
    error: dict[str, Any] | None
    failed_step: str | None
    parent_execution_id: UUID | None
    parent_step: str | None
    created_by: UUID | None
    pause_timers: str | None
    pause_reason: str | None
    paused_at: datetime | None
    generation: int
    version: int
    open_steps: int
    tokens_used: int
    cost_used: int
    tokens_reserved: int
    cost_reserved: int
    prompt_tokens: int
    completion_tokens: int
    currency: str
    warned: list[str]
    exceeded: list[str]
    created_at: datetime
    started_at: datetime
    finished_at: datetime | None
    updated_at: datetime
    # its tree of subplan runs: the root (None: this one) and its depth under the root
    root_execution_id: UUID | None = None
    depth: int = 0
    # the planning trigger and delivery that started it (None: not a trigger's)
    trigger_id: UUID | None = None
    delivery_id: str | None = None

    @property
    def snapshot(self) -> PlanSnapshot:
        """The plan run; only on a run read with its plan (`Executions.snapshot` reads it
        alone: a big plan's JSON is costly to decode at every step)."""
        if self.plan is None:
            raise ValueError("this run was read without its plan")
        return PlanSnapshot.model_validate(self.plan)

    @property
    def root(self) -> UUID:
        """The run its tree of subplan runs started from."""
        return self.root_execution_id or self.execution_id

    @property
    def limits(self) -> Budget | None:
        return None if self.budget is None else Budget.model_validate(self.budget)

    @property
    def usage(self) -> Usage | None:
        """The LLM usage of the whole run (None before its first call is settled)."""
        if self.tokens_used == 0 and self.cost_used == 0:
            return None
        return Usage(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            total_tokens=self.prompt_tokens + self.completion_tokens,
            cost=Money(amount_micros=self.cost_used, currency=self.currency),
        )

    # --- moves ---------------------------------------------------------------------------

    def complete(self, outputs: dict[str, Any], *, now: datetime) -> Moved:
        states.check_run_move(self.status, RunStatus.COMPLETED)
        event = ExecutionCompleted(
            execution_id=self.execution_id,
            outputs=outputs,
            duration_ms=elapsed_ms(self.started_at, now),
            usage=self.usage,
        )
        values = {"status": RunStatus.COMPLETED, "outputs": outputs, "finished_at": now}
        return Moved(values, (Recorded(event),))

    def fail(self, error: ErrorInfo, *, step: str | None, now: datetime) -> Moved:
        states.check_run_move(self.status, RunStatus.FAILED)
        event = ExecutionFailed(
            execution_id=self.execution_id,
            error=error,
            step=step,
            duration_ms=elapsed_ms(self.started_at, now),
            usage=self.usage,
        )
        values = {
            "status": RunStatus.FAILED,
            "error": error_json(error),
            "failed_step": step,
            "finished_at": now,
        }
        return Moved(values, (Recorded(event, "error"),))

    def pause(self, *, reason: str | None, timers: str, now: datetime) -> Moved:
        states.check_pause(self.status)
        states.check_run_move(self.status, RunStatus.PAUSED)
        values = {
            "status": RunStatus.PAUSED,
            "paused_at": now,
            "pause_timers": timers,
            "pause_reason": reason,
        }
        event = ExecutionPaused(execution_id=self.execution_id, reason=reason)
        return Moved(values, (Recorded(event),))

    def resume(self) -> Moved:
        states.check_resume(self.status)
        states.check_run_move(self.status, RunStatus.RUNNING)
        values = {"status": RunStatus.RUNNING, "paused_at": None, "pause_reason": None}
        return Moved(values, (Recorded(ExecutionResumed(execution_id=self.execution_id)),))

    def cancel(self, *, reason: str | None) -> Moved:
        """`cancelling`: its compensations run; `cancelled` once they have."""
        states.check_cancel(self.status)
        states.check_run_move(self.status, RunStatus.CANCELLING)
        error = {"code": "cancelled", "message": reason or "cancelled", "retryable": False}
        return Moved({"status": RunStatus.CANCELLING, "error": error, "paused_at": None})

    def cancelled(self, *, now: datetime) -> Moved:
        states.check_run_move(self.status, RunStatus.CANCELLED)
        reason = (self.error or {}).get("message")
        event = ExecutionCancelled(execution_id=self.execution_id, reason=reason)
        values = {"status": RunStatus.CANCELLED, "finished_at": now}
        return Moved(values, (Recorded(event),))

    def rerun(self, *, from_step: str | None, open_steps: int) -> Moved:
        """Run again (a failed or cancelled run): its next generation."""
        states.check_rerun(self.status)
        states.check_run_move(self.status, RunStatus.RUNNING)
        generation = self.generation + 1
        values: dict[str, Any] = {
            "status": RunStatus.RUNNING,
            "error": None,
            "failed_step": None,
            "finished_at": None,
            "paused_at": None,
            "generation": generation,
            "open_steps": open_steps,
            "exceeded": [],
        }
        event = ExecutionResumed(
            execution_id=self.execution_id,
            rerun_from=from_step or self.failed_step,
            generation=generation,
        )
        return Moved(values, (Recorded(event),))


@dataclass(frozen=True)
class Step:
    tenant_id: UUID
    execution_id: UUID
    key: str
    kind: str
    spec: dict[str, Any]
    state: str
    deps_left: int
    deps_total: int
    deps_ok: int
    deps_failed: int
    dependents: list[str]
    parent: str | None
    item: dict[str, Any] | None
    attempt: int
    failures: int
    lease_losses: int
    lease_owner: str | None
    lease_until: datetime | None
    run_after: datetime | None
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    output: Any
    error: dict[str, Any] | None
    checkpoint: dict[str, Any] | None
    generation: int
    tokens: int
    cost: int
    ran: dict[str, Any] | None = None

    @property
    def plan_step(self) -> PlanStep:
        return PlanStep.model_validate(self.spec)

    def tool_ran(self) -> dict[str, Any]:
        """The catalog tool versions this attempt ran, as `execution.step.*` events carry
        them. A tool step: `tool_id`, `tool_version_id`, `tool_version`, from what the step
        recorded when it resolved its tool (`ran`), for this generation and attempt only
        (an attempt that failed before resolving ran nothing). An agent step: its calls may
        run several tools, so `tool_calls` (one entry per version, with its count) from
        its checkpoint's tally of this attempt. Empty for a builtin or another kind."""
        if self.kind == "agent":
            cp = self.checkpoint or {}
            mine = [
                ToolCallsRan(
                    tool=r["tool"],
                    tool_id=UUID(r["tool_id"]),
                    tool_version_id=UUID(r["tool_version_id"]),
                    tool_version=r["version"],
                    calls=r["calls"],
                )
                for r in cp.get("ran") or []
                if r.get("attempt") == self.attempt and cp.get("generation") == self.generation
            ]
            return {"tool_calls": mine} if mine else {}
        ran = self.ran or {}
        if (
            self.kind != "tool"
            or "tool_id" not in ran
            or ran.get("generation") != self.generation
            or ran.get("attempt") != self.attempt
        ):
            return {}
        return {
            "tool_id": UUID(ran["tool_id"]),
            "tool_version_id": UUID(ran["tool_version_id"]),
            "tool_version": ran["version"],
        }

    @property
    def under_way(self) -> bool:
        """Whether an attempt of it is in progress: running, waiting on something, or held
        between an agent's turns (or a budget-paused call) that continue that attempt. A
        step between attempts keeps its last attempt's record as it ended."""
        if self.state in (StepState.RUNNING, StepState.WAITING):
            return True
        return self.state == StepState.HELD and bool((self.checkpoint or {}).get("continue"))

    @property
    def idempotency_key(self) -> str:
        """What an `http` tool gets as `Idempotency-Key`: the same on every attempt of this
        step (a retry after a crash must be recognisable), new for a rerun's generation."""
        return f"{self.execution_id}:{self.key}:{self.generation}"

    # --- moves ---------------------------------------------------------------------------

    def succeed(self, output: Any, *, usage: Usage | None, now: datetime) -> Moved:
        states.check_step_move(self.state, StepState.SUCCEEDED)
        values = {
            "state": StepState.SUCCEEDED,
            "output": output,
            "error": None,
            **_UNLEASED,
            "finished_at": now,
        }
        event = StepSucceeded(
            execution_id=self.execution_id,
            step=self.key,
            attempt=max(self.attempt, 1),
            output=output,
            duration_ms=elapsed_ms(self.started_at, now),
            usage=usage,
        )
        return Moved(values, (Recorded(event),))

    def fail(self, error: ErrorInfo, *, now: datetime) -> Moved:
        """For good: no retry follows."""
        states.check_step_move(self.state, StepState.FAILED)
        values = {
            "state": StepState.FAILED,
            "error": error_json(error),
            **_UNLEASED,
            "finished_at": now,
        }
        return Moved(values, (Recorded(self._failed(error, final=True, now=now), "error"),))

    def retry(
        self, error: ErrorInfo, *, failures: int, losses: int, delay_ms: int, now: datetime
    ) -> Moved:
        """The attempt failed; the next one follows after `delay_ms` (its `run_after`)."""
        states.check_step_move(self.state, StepState.RETRYING)
        due = now + timedelta(milliseconds=delay_ms)
        values = {
            "state": StepState.RETRYING,
            "failures": failures,
            "lease_losses": losses,
            "error": error_json(error),
            **_UNLEASED,
            "run_after": due,
        }
        retrying = StepRetrying(
            execution_id=self.execution_id,
            step=self.key,
            next_attempt=self.attempt + 1,
            delay_ms=delay_ms,
            error=error,
        )
        failed = self._failed(error, final=False, now=now)
        return Moved(values, (Recorded(failed, "warning"), Recorded(retrying)))

    def wait(self, checkpoint: dict[str, Any]) -> Moved:
        """Waiting (for a timer, an approval, an answer, its children), as `checkpoint`
        says; the same attempt goes on when that comes."""
        states.check_step_move(self.state, StepState.WAITING)
        return Moved({"state": StepState.WAITING, **_UNLEASED, "checkpoint": checkpoint})

    def requeue(self, checkpoint: dict[str, Any], *, held: bool, now: datetime) -> Moved:
        """Queued again for a worker (`held` while its run is paused), as `checkpoint`
        says."""
        to = StepState.HELD if held else StepState.READY
        states.check_step_move(self.state, to)
        return Moved({"state": to, "queued_at": now, "checkpoint": checkpoint})

    def hold(self, checkpoint: dict[str, Any], *, now: datetime) -> Moved:
        """Put back, held until its run is resumed: the same attempt then goes on."""
        states.check_step_move(self.state, StepState.HELD)
        values = {
            "state": StepState.HELD,
            **_UNLEASED,
            "queued_at": now,
            "checkpoint": {**checkpoint, "continue": True},
        }
        return Moved(values)

    def _failed(self, error: ErrorInfo, *, final: bool, now: datetime) -> StepFailed:
        return StepFailed(
            execution_id=self.execution_id,
            step=self.key,
            attempt=max(self.attempt, 1),
            error=error,
            final=final,
            duration_ms=elapsed_ms(self.started_at, now),
        )
