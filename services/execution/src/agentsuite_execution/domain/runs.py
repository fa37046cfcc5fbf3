"""An execution and its steps as the engine reads them (one row each)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import Budget, PlanStep
from agentsuite_execution.domain.states import StepState


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

    @property
    def plan_step(self) -> PlanStep:
        return PlanStep.model_validate(self.spec)

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
