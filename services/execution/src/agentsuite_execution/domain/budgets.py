"""Changing a run's budget while it runs or is paused (typically raising it so a run
paused for its budget can go on when resumed): which changes are allowed and what the
run's budget becomes."""

from __future__ import annotations

from dataclasses import dataclass

from agentsuite_contracts.common import Money
from agentsuite_contracts.execution import BudgetLimit
from agentsuite_contracts.steps import Budget
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.domain.states import RUN_DONE, RunStatus


@dataclass(frozen=True)
class BudgetChange:
    """The limits to set; None leaves a limit as it is."""

    max_cost: Money | None = None
    max_tokens: int | None = None
    max_duration_ms: int | None = None


def changed(run: Run, change: BudgetChange, elapsed_ms: int) -> tuple[Budget, list[str]]:
    """The run's budget with `change` applied, and the dimensions it changed. A limit may
    not go below what the run has spent and holds for calls in flight (for the wall-clock
    limit: the time it has run); a run that has ended takes no change."""
    if run.status in RUN_DONE or run.status == RunStatus.CANCELLING:
        raise RunError("conflict", f"the execution is {run.status}: its budget is final")
    budget = run.limits or Budget()
    values: dict[str, object] = {}
    touched: list[str] = []
    if change.max_cost is not None:
        if change.max_cost.currency != run.currency:
            raise RunError(
                "invalid",
                f"the execution's budget is in {run.currency}, not {change.max_cost.currency}",
                field="max_cost",
            )
        _floor(
            "max_cost",
            change.max_cost.amount_micros,
            run.cost_used,
            run.cost_reserved,
            "micro-units",
        )
        values["max_cost"] = change.max_cost
        touched.append(BudgetLimit.COST.value)
    if change.max_tokens is not None:
        _floor("max_tokens", change.max_tokens, run.tokens_used, run.tokens_reserved, "tokens")
        values["max_tokens"] = change.max_tokens
        touched.append(BudgetLimit.TOKENS.value)
    if change.max_duration_ms is not None:
        if change.max_duration_ms <= elapsed_ms:
            raise RunError(
                "conflict",
                f"max_duration_ms {change.max_duration_ms} is not above the {elapsed_ms} ms "
                "the execution has run",
            )
        values["max_duration_ms"] = change.max_duration_ms
        touched.append(BudgetLimit.DURATION.value)
    if not touched:
        raise RunError(
            "invalid", "name at least one of max_cost, max_tokens, max_duration_ms", field="body"
        )
    return budget.model_copy(update=values), touched


def _floor(name: str, wanted: int, spent: int, held: int, unit: str) -> None:
    if wanted < spent + held:
        raise RunError(
            "conflict",
            f"{name} {wanted} is below what the execution has spent ({spent} {unit}) and "
            f"holds for calls in flight ({held})",
        )
