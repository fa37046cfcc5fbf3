"""The one place handlers reach the pure domain's validation, forecast, pinning and diff,
with what they need from outside (the feeds' projections, `handlers.feeds`).

INTERIM until fix/plan-domain lands: the structural checks below are the few the
service's own tests need (too many steps, too large, duplicate keys, dangling
dependencies); `forecast` is None, pinning returns the plan as is and `diff` compares
steps by key. The merge replaces the bodies of these functions with calls into
`domain/validation.py`, `forecast.py`, `pinning.py`, `diff.py`; the signatures stay.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentsuite_contracts.planning import CostForecast, PlanSnapshot, ValidationIssue
from agentsuite_planning.uow import PlanningUow


@dataclass(frozen=True, slots=True)
class Limits:
    max_steps: int = 1_000
    max_bytes: int = 900_000


@dataclass(frozen=True, slots=True)
class Checked:
    """A validation's outcome: `valid` when no issue is an error."""

    issues: list[ValidationIssue] = field(default_factory=list)
    forecast: CostForecast | None = None

    @property
    def valid(self) -> bool:
        return not any(i.severity == "error" for i in self.issues)

    @property
    def over_budget(self) -> bool:
        return any(i.code == "over_budget" for i in self.issues)

    def as_json(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "issues": [i.model_dump(mode="json") for i in self.issues],
            "forecast": None if self.forecast is None else self.forecast.model_dump(mode="json"),
        }


def _error(code: str, message: str, path: str, step: str | None = None) -> ValidationIssue:
    return ValidationIssue(code=code, message=message, severity="error", step=step, path=path)


def structural(plan: PlanSnapshot, limits: Limits) -> list[ValidationIssue]:
    """INTERIM: the checks the API refuses a body on before storing it."""
    issues: list[ValidationIssue] = []
    count = sum(len(p.steps) for p in plan.phases)
    if count > limits.max_steps:
        issues.append(
            _error("too_many_steps", f"{count} steps; at most {limits.max_steps}", "phases")
        )
    if len(plan.model_dump_json()) > limits.max_bytes:
        issues.append(_error("too_large", f"over {limits.max_bytes} bytes", "$"))
    return issues


async def check(uow: PlanningUow, plan: PlanSnapshot, limits: Limits) -> Checked:
    """Every problem of `plan`, and its cost forecast."""
    issues = structural(plan, limits)
    if issues:
        return Checked(issues)
    keys: dict[str, str] = {}
    for p, phase in enumerate(plan.phases):
        for s, step in enumerate(phase.steps):
            path = f"phases[{p}].steps[{s}]"
            if step.key in keys:
                issues.append(_error("duplicate_key", f"{step.key} twice", f"{path}.key", step.key))
            keys.setdefault(step.key, path)
    for p, phase in enumerate(plan.phases):
        for s, step in enumerate(phase.steps):
            for d, dep in enumerate(step.depends_on):
                if dep not in keys or dep == step.key:
                    issues.append(
                        _error(
                            "missing_dependency" if dep not in keys else "cycle",
                            f"{step.key} depends on {dep}",
                            f"phases[{p}].steps[{s}].depends_on[{d}]",
                            step.key,
                        )
                    )
    return Checked(issues)


async def pin(uow: PlanningUow, plan: PlanSnapshot) -> PlanSnapshot:
    """The plan with every floating tool and agent version pinned."""
    return plan


def diff(a: PlanSnapshot, b: PlanSnapshot) -> dict[str, Any]:
    """The semantic diff of two versions, as the domain's `PlanDiff` JSON."""
    before = {s.key: s for p in a.phases for s in p.steps}
    after = {s.key: s for p in b.phases for s in p.steps}
    changes: list[dict[str, Any]] = []
    for key in before.keys() - after.keys():
        changes.append({"op": "removed", "path": key, "step": key})
    for key in after.keys() - before.keys():
        changes.append({"op": "added", "path": key, "step": key})
    for key in before.keys() & after.keys():
        if before[key] != after[key]:
            changes.append({"op": "changed", "path": key, "step": key})
    return {"changes": sorted(changes, key=lambda c: (c["step"], c["op"]))}
