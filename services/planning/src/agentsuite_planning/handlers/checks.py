"""The one place handlers reach the pure domain's validation, forecast, pinning and diff,
with what those need from outside: the feeds' projections (`uow.catalog.lookup(refs)`,
`uow.prices.of(models)`, `uow.history.of(plan_id)`, DESIGN.md "Feeds") and the tenant's
approved versions (subplans)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from agentsuite_contracts.planning import CostForecast, PlanSnapshot, ValidationIssue
from agentsuite_planning.domain import diff as diffs
from agentsuite_planning.domain.forecast import forecast
from agentsuite_planning.domain.lookup import Lookup, Refs, references
from agentsuite_planning.domain.pinning import pin as pin_versions
from agentsuite_planning.domain.validation import ENVELOPE_BYTES, Limits, has_errors, validate
from agentsuite_planning.uow import PlanningUow

__all__ = ["Checked", "Limits", "check", "diff", "pin", "structural"]


@dataclass(frozen=True, slots=True)
class Checked:
    """A validation's outcome: `valid` when no issue is an error."""

    issues: list[ValidationIssue] = field(default_factory=list)
    forecast: CostForecast | None = None
    # what validation read, for pinning the same versions it checked
    lookup: Lookup = field(default_factory=Lookup)

    @property
    def valid(self) -> bool:
        return not has_errors(self.issues)

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "issues": [i.model_dump(mode="json") for i in self.issues],
            "forecast": None if self.forecast is None else self.forecast.model_dump(mode="json"),
        }


def _error(code: str, message: str, path: str) -> ValidationIssue:
    return ValidationIssue(code=code, message=message, severity="error", path=path)


def structural(plan: PlanSnapshot, limits: Limits) -> list[ValidationIssue]:
    """What makes a body one the service does not store at all (validation reports the
    same codes on a stored version): more steps than the setting allows, or a snapshot
    whose approval event could not go on the bus."""
    issues: list[ValidationIssue] = []
    count = sum(len(p.steps) for p in plan.phases)
    if count > limits.max_steps:
        issues.append(
            _error("too_many_steps", f"{count} steps; at most {limits.max_steps}", "phases")
        )
    size = len(plan.model_dump_json().encode()) + ENVELOPE_BYTES
    if size > limits.max_bytes:
        issues.append(_error("too_large", f"{size} bytes; at most {limits.max_bytes}", "phases"))
    return issues


async def lookup_of(uow: PlanningUow, refs: Refs) -> Lookup:
    """The catalog entries and approved subplan versions a plan names, nothing more."""
    found = await uow.catalog.lookup(refs)
    return replace(found, plans=await uow.versions.approved(refs.plans))


async def check(uow: PlanningUow, plan: PlanSnapshot, limits: Limits) -> Checked:
    """Every problem of `plan`, and its cost forecast (priced in the budget's currency)."""
    refs = references(plan)
    lookup = await lookup_of(uow, refs)
    prices = await uow.prices.of(refs.models)
    history = await uow.history.of(plan.plan_id)
    cap = plan.budget.max_cost if plan.budget is not None else None
    currency = "USD" if cap is None else cap.currency
    cost = forecast(plan, prices, history, currency=currency)
    return Checked(validate(plan, lookup, limits=limits, forecast=cost), cost, lookup)


def pin(plan: PlanSnapshot, checked: Checked) -> PlanSnapshot:
    """The plan with every floating tool and agent version pinned to what validation read
    (refused: `unpinnable`)."""
    return pin_versions(plan, checked.lookup)


def diff(a: PlanSnapshot, b: PlanSnapshot) -> diffs.PlanDiff:
    """The semantic diff of two versions."""
    return diffs.diff(a, b)
