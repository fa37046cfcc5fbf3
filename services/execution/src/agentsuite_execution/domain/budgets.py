"""A run's budget: what a call may use of it (its estimate, its cap, whether it fits), when
a dimension is to be warned about, and changing the budget while the run runs or is
paused (typically raising it so a run paused for its budget can go on when resumed):
which changes are allowed and what the run's budget becomes."""

from __future__ import annotations

from dataclasses import dataclass

from agentsuite_contracts.common import Money
from agentsuite_contracts.execution import BudgetLimit
from agentsuite_contracts.steps import Budget
from agentsuite_execution.domain.catalog import Price
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.domain.states import RUN_DONE, RunStatus

MILLION = 1_000_000
# a step's own cap (PlanStep.max_cost, AgentLimits.max_cost): not a run budget dimension
STEP = "step_cost"


def cost_micros(price: Price, prompt: int, completion: int) -> int:
    """The most a call of `prompt` tokens answering at most `completion` can cost (rounded
    up, as the gateway rounds its estimate)."""
    return -(-(prompt * price.input_micros + completion * price.output_micros) // MILLION)


def completion_cap(
    limits: Budget | None, run: Run, prompt: int, wanted: int, *, held: bool = True
) -> int:
    """Output tokens the call may ask for: `wanted`, lowered to the run's tokens left after
    the prompt (what is used, and with `held` what is reserved, counted); <= 0 when nothing
    is left."""
    if limits is None or limits.max_tokens is None:
        return wanted
    reserved = run.tokens_reserved if held else 0
    left = limits.max_tokens - run.tokens_used - reserved - prompt
    return min(wanted, left)


def crossed(limits: Budget, run: Run) -> list[tuple[str, int, int]]:
    """Dimensions whose use reached `warn_at_percent` and were not warned about yet:
    (limit, allowed, used)."""
    percent = limits.warn_at_percent
    if percent is None:
        return []
    out = []
    for name, allowed, used in _dimensions(limits, run):
        if name not in run.warned and used * 100 >= allowed * percent:
            out.append((name, allowed, used))
    return out


def _dimensions(limits: Budget, run: Run) -> list[tuple[str, int, int]]:
    out = []
    if limits.max_cost is not None:
        out.append((BudgetLimit.COST.value, limits.max_cost.amount_micros, run.cost_used))
    if limits.max_tokens is not None:
        out.append((BudgetLimit.TOKENS.value, limits.max_tokens, run.tokens_used))
    return out


@dataclass(frozen=True)
class Reserved:
    """What a call may use: its `max_tokens`, what is held for it, and the most it may
    cost (None: no bound to tell the gateway)."""

    max_tokens: int
    tokens: int
    cost: int
    max_cost: Money | None


@dataclass(frozen=True)
class Refused:
    """The call does not fit `limit` (a run dimension, or STEP): `allowed`; what is
    `spent`, `held` by calls in flight, and what the call `needs` (None: not known)."""

    limit: str
    allowed: int
    spent: int
    held: int = 0
    needs: int | None = None

    @property
    def used(self) -> int:
        """What counts against the limit: what is spent (holds are upper bounds of calls
        in flight, not use)."""
        return self.spent

    def message(self) -> str:
        left = max(0, self.allowed - self.spent - self.held)
        text = (
            f"the execution's {self.limit} budget {self.allowed}: {self.spent} spent, "
            f"{self.held} held by calls in flight, {left} left"
        )
        return text if self.needs is None else f"{text}; this call needs up to {self.needs}"


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
