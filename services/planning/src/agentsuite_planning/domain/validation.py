"""Validating a plan version: every problem, each with a code, a severity and a JSON path
into the snapshot (`phases[0].steps[3].depends_on[1]`).

The structure (keys, dangling references, containers, cycles) is the kit's
(`agentsuite_kit.plans`), the same rules execution refuses a run by; `${...}` references and
conditions parse with the kit's expression language; literal bindings are checked against
the tool's input schema with the kit's schema validation. Linear in the plan's size (plus
one bit-set OR per edge for "is this step upstream").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from uuid import UUID

from agentsuite_contracts.planning import CostForecast, PlanSnapshot, ValidationIssue
from agentsuite_contracts.steps import ApprovalStep
from agentsuite_kit.plans import shape
from agentsuite_planning.domain.bindings import Memo
from agentsuite_planning.domain.catalog import Add, check_catalog
from agentsuite_planning.domain.lookup import Lookup
from agentsuite_planning.domain.references import Scopes, check_expressions

Severity = Literal["error", "warning"]

# every code validation reports, and how bad it is (a warning does not block approval)
CODES: dict[str, Severity] = {
    "duplicate_key": "error",
    "invalid_key": "error",
    "out_of_range": "error",
    "too_many_steps": "error",
    "cycle": "error",
    "missing_dependency": "error",
    "invalid_container": "error",
    "unreachable": "error",
    "unknown_tool": "error",
    "unknown_tool_version": "error",
    "deprecated_tool": "warning",
    "unknown_agent": "error",
    "unknown_agent_version": "error",
    "deprecated_agent": "warning",
    "unknown_subplan": "error",
    "invalid_binding": "error",
    "invalid_expression": "error",
    "unknown_reference": "error",
    "no_approvers": "error",
    "unknown_requirement": "warning",
    "too_large": "error",
    "over_budget": "warning",
}
# room the `planning.plan.approved` envelope and its other fields take beside the snapshot
ENVELOPE_BYTES = 4_096
_ROLE = re.compile(r"^role:[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$")


@dataclass(frozen=True, slots=True)
class Limits:
    max_steps: int = 1_000
    max_bytes: int = 900_000


def has_errors(issues: list[ValidationIssue]) -> bool:
    return any(i.severity == "error" for i in issues)


def validate(
    plan: PlanSnapshot,
    lookup: Lookup,
    *,
    limits: Limits = Limits(),
    forecast: CostForecast | None = None,
) -> list[ValidationIssue]:
    """Every problem of `plan`; `forecast` (when priced) adds `over_budget` as a warning."""
    issues: list[ValidationIssue] = []

    def add(code: str, message: str, step: str | None, path: str | None) -> None:
        issues.append(
            ValidationIssue(code=code, message=message, severity=CODES[code], step=step, path=path)
        )

    found = shape(plan, max_steps=limits.max_steps)
    for p in found.problems:
        add(p.code, p.message, p.step, p.path)
    requirements = {r.key for r in plan.requirements}
    scopes = Scopes(plan, found)
    memo: Memo = {}
    for path, s in found.steps.values():
        check_catalog(s, path, lookup, add, memo)
        check_expressions(s, path, scopes, add)
        if s.approval is not None:
            _approvers(s.key, s.approval, path, add)
        for j, key in enumerate(s.serves):
            if key not in requirements:
                message = (
                    f"step {s.key!r} serves {key!r}, which is not one of the plan's requirements"
                )
                add("unknown_requirement", message, s.key, f"{path}.serves[{j}]")
    size = len(plan.model_dump_json().encode()) + ENVELOPE_BYTES
    if size > limits.max_bytes:
        message = f"the approved plan would be {size} bytes on the bus; at most {limits.max_bytes}"
        add("too_large", message, None, None)
    if (over := over_budget(plan, forecast)) is not None:
        issues.append(over)
    return issues


def over_budget(plan: PlanSnapshot, forecast: CostForecast | None) -> ValidationIssue | None:
    """`over_budget` when the forecast's p95 passes the plan's `budget.max_cost` (a warning
    here; approval refuses it)."""
    cap = plan.budget.max_cost if plan.budget is not None else None
    if forecast is None or cap is None or forecast.p95.currency != cap.currency:
        return None
    if forecast.p95.amount_micros <= cap.amount_micros:
        return None
    message = (
        f"forecast p95 of {forecast.p95.amount_micros} micro-{cap.currency} per run is over "
        f"the budget of {cap.amount_micros}"
    )
    return ValidationIssue(
        code="over_budget", message=message, severity="warning", path="budget.max_cost"
    )


def _approvers(key: str, spec: ApprovalStep, path: str, add: Add) -> None:
    for field in ("approvers", "escalate_to"):
        people: list[str] = getattr(spec, field)
        if field == "approvers" and not people:
            add(
                "no_approvers",
                f"approval step {key!r} has no approvers",
                key,
                f"{path}.approval.approvers",
            )
        for j, who in enumerate(people):
            if not _approver(who):
                message = f"approval step {key!r}: {who!r} is neither a user id nor `role:<name>`"
                add("no_approvers", message, key, f"{path}.approval.{field}[{j}]")


def _approver(who: str) -> bool:
    if who.startswith("role:"):
        return _ROLE.match(who) is not None
    try:
        UUID(who)
    except ValueError:
        return False
    return True
