"""Starting a run: the plan's pinned snapshot, its step rows, its first ready steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from agentsuite_contracts.execution import Trigger
from agentsuite_contracts.steps import Budget
from agentsuite_execution.deps import Deps
from agentsuite_execution.uow import ExecutionUow


@dataclass(frozen=True)
class StartRun:
    """What starts an execution (the API's body, a schedule's firing, a subplan step)."""

    plan_id: UUID
    plan_version: int | None
    inputs: dict[str, Any] = field(default_factory=dict)
    budget: Budget | None = None
    labels: dict[str, str] = field(default_factory=dict)
    trigger: Trigger = Trigger.API
    schedule_id: UUID | None = None
    due_at: datetime | None = None
    created_by: UUID | None = None
    parent_execution_id: UUID | None = None
    parent_step: str | None = None
    execution_id: UUID | None = None


async def start(uow: ExecutionUow, deps: Deps, command: StartRun) -> UUID:
    """Create the execution and its steps, emit `execution.execution.started`; the id.

    A schedule's slot (`schedule_id`, `due_at`) starts one run however often it fires:
    a repeat returns the first run's id. Raises `RunError` (domain.errors) when the plan
    version is not approved here, is archived, or its inputs do not match its schema.
    """
    raise NotImplementedError  # written by the engine's author
