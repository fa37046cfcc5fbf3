"""The rules of plans, versions and labels that no table enforces: label names, a label
only on an approved version, approval only of a version validation passed (and within its
budget), and the discovery gate (requirements from a session completed by force need
`accept_gaps`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from agentsuite_contracts.planning import CostForecast, PlanSnapshot, ValidationIssue
from agentsuite_kit.errors import Conflict, Invalid
from agentsuite_planning.domain.validation import over_budget

LABEL = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


def check_label(name: str) -> str:
    if not LABEL.match(name):
        raise Invalid(
            "invalid_label",
            "a label is 1-40 lower-case letters, digits, `_` or `-`, starting with a letter",
            field="name",
        )
    return name


def check_label_target(version: int, approved: bool) -> None:
    """A label points at an approved version only: what it names is what runs."""
    if not approved:
        raise Conflict(
            "version_not_approved",
            f"version {version} is not approved: a label points only at an approved version",
            field="version",
        )


def check_approvable(
    plan: PlanSnapshot,
    issues: Sequence[ValidationIssue],
    forecast: CostForecast | None,
    *,
    archived: bool = False,
) -> None:
    """Refuses approving a version with a validation error or a forecast over its budget."""
    if archived:
        raise Conflict("plan_archived", "the plan is archived: it cannot be approved")
    errors = [i for i in issues if i.severity == "error"]
    if errors:
        first = errors[0]
        raise Conflict(
            "plan_invalid",
            f"the version has {len(errors)} validation error(s); first: {first.code}: "
            f"{first.message}",
            field=first.path,
            extensions={"issues": [i.model_dump(mode="json") for i in errors[:50]]},
        )
    over = over_budget(plan, forecast)
    if over is not None:
        raise Conflict("over_budget", over.message, field="budget.max_cost")


def check_gate(*, forced: bool, accept_gaps: bool, required: bool = True) -> None:
    """The discovery gate: requirements from a session completed by force (or with gaps)
    are approved only by someone who says they accept the gaps (`approval_gap_override`
    setting: `required`)."""
    if required and forced and not accept_gaps:
        raise Conflict(
            "gaps_not_accepted",
            "the plan's requirements come from a discovery session completed with gaps: "
            "approve with accept_gaps true to accept them",
            field="accept_gaps",
        )
