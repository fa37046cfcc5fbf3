"""Starting a run: the plan's pinned snapshot, its step rows, its first ready steps."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from jsonschema import (  # type: ignore[import-untyped]  # no stubs published
    Draft202012Validator,
    SchemaError,
)
from jsonschema.exceptions import best_match  # type: ignore[import-untyped]  # no stubs

from agentsuite_contracts.execution import Trigger
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.steps import Budget
from agentsuite_execution.deps import Deps
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.graph import PlanError
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.domain.states import RunStatus
from agentsuite_execution.domain.tenants import may_start
from agentsuite_execution.engine import runs
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
    trigger_id: UUID | None = None
    delivery_id: str | None = None
    created_by: UUID | None = None
    parent_execution_id: UUID | None = None
    parent_step: str | None = None
    execution_id: UUID | None = None


async def start(command: StartRun, uow: ExecutionUow, deps: Deps) -> Run:
    """Create the execution and its steps, emit `execution.execution.started`; the run.

    A schedule's slot (`schedule_id`, `due_at`) or a trigger's delivery (`trigger_id`,
    `delivery_id`) starts one run however often it fires: a repeat returns the first run.
    Raises `RunError` when the plan version is not approved here (or archived), or
    (`plan_stale`) the plan is stale, or the inputs do not match the plan's inputs schema,
    or (`tenant_inactive`) the tenant is suspended or deleted.
    """
    within_a_run = command.parent_execution_id is not None
    if not may_start(await uow.tenants.status(), within_a_run=within_a_run):
        raise RunError("tenant_inactive", "the tenant is suspended or deleted: no new run")
    found = await uow.plans.runnable(command.plan_id, command.plan_version)
    if found is None:
        version = "" if command.plan_version is None else f" version {command.plan_version}"
        raise RunError(
            "plan_not_runnable",
            f"plan {command.plan_id}{version} is not approved here (or it is archived)",
            field="plan_version" if command.plan_version is not None else "plan_id",
        )
    plan, stale = found
    # like a suspended tenant's, a stale plan's runs already going finish with the
    # subplans they start: only a new run from outside is refused
    if stale and not within_a_run:
        raise RunError(
            "plan_stale",
            f"plan {command.plan_id} is stale (a requirement it cites changed): no new run "
            "until a version of it is approved again",
        )
    problem = inputs_problem(plan.inputs_schema, command.inputs)
    if problem is not None:
        raise RunError("invalid", problem, field="inputs")
    tree: dict[str, Any] = {}
    if command.parent_execution_id is not None:
        parent = await uow.executions.get(command.parent_execution_id)
        if parent is None:
            raise RunError(
                "not_found", f"no execution {command.parent_execution_id}", field="parent"
            )
        settings = deps.settings
        tree = await runs.lineage(
            uow, parent, max_depth=settings.max_subplan_depth, max_runs=settings.max_runs_per_root
        )
    budget = command.budget or plan.budget
    values: dict[str, Any] = {
        "execution_id": command.execution_id or uuid7(),
        "plan_id": plan.plan_id,
        "plan_version": plan.version,
        "status": RunStatus.RUNNING,
        "trigger": command.trigger,
        "schedule_id": command.schedule_id,
        "due_at": command.due_at,
        "trigger_id": command.trigger_id,
        "delivery_id": command.delivery_id,
        "inputs": command.inputs,
        "labels": command.labels,
        "budget": None if budget is None else budget.model_dump(mode="json"),
        "plan": plan.model_dump(mode="json"),
        "manifest": {"plan": {"plan_id": str(plan.plan_id), "version": plan.version}},
        "parent_execution_id": command.parent_execution_id,
        "parent_step": command.parent_step,
        "created_by": command.created_by,
        "currency": _currency(budget),
        **tree,
    }
    try:
        run, _ = await runs.create(uow, plan, values, max_steps=deps.settings.max_steps)
    except PlanError as exc:
        raise RunError("plan_not_runnable", str(exc), field="plan_version") from None
    return run


def inputs_problem(schema: dict[str, Any], inputs: dict[str, Any]) -> str | None:
    """Why `inputs` do not match the plan's inputs schema (None: they do)."""
    if not schema:
        return None
    try:
        validator = Draft202012Validator(schema)
    except SchemaError as exc:
        return f"the plan's inputs schema is not valid: {exc.message}"
    error = best_match(validator.iter_errors(inputs))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path)
    return f"inputs{'/' + where if where else ''}: {error.message}"


def _currency(budget: Budget | None) -> str:
    if budget is not None and budget.max_cost is not None:
        return budget.max_cost.currency
    return "USD"
