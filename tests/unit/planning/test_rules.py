"""Forecast, pinning and the plan/label rules."""

from __future__ import annotations

import pytest

from agentsuite_contracts.common import Money
from agentsuite_contracts.planning import CostForecast, ValidationIssue
from agentsuite_contracts.steps import Budget, MapStep, StepKind
from agentsuite_kit.errors import Conflict, Invalid
from agentsuite_planning.domain.forecast import History, Price, forecast
from agentsuite_planning.domain.pinning import pin
from agentsuite_planning.domain.plans import (
    check_approvable,
    check_gate,
    check_label,
    check_label_target,
)
from tests.unit.planning.builders import agent, llm, lookup, plan, step, tool

GPT = Price(input_micros_per_mtok=1_000_000, output_micros_per_mtok=4_000_000)


def test_enough_past_runs_give_the_percentiles_of_their_totals() -> None:
    got = forecast(plan(tool("a")), {}, History(run_costs=[10, 20, 30, 40, 1000]))
    assert (got.p50.amount_micros, got.p95.amount_micros, got.runs, got.unpriced) == (
        30,
        1000,
        5,
        [],
    )


def test_without_history_llm_steps_are_priced_by_tokens_and_maps_multiply() -> None:
    p = plan(
        llm("ask", prompt="x" * 4_000, model="gpt", max_tokens=500),  # 1,000 in + 500 out
        step("m", StepKind.MAP, map=MapStep(items="${inputs.xs}", body=["per"], max_items=3)),
        llm("per", max_tokens=100, prompt=""),  # dearest model: 100 out, x3
        tool("t"),
    )
    got = forecast(p, {"gpt": GPT}, History(step_costs={}))
    assert got.p50.amount_micros == 1_000 + 2_000 + 3 * 400
    assert got.unpriced == ["t"]


def test_a_steps_own_history_is_used_before_an_estimate() -> None:
    got = forecast(
        plan(tool("t"), agent("w", max_turns=2)), {"gpt": GPT}, History(step_costs={"t": [7, 9]})
    )
    assert got.p50.amount_micros == 7 + 2 * (4_000 + 1)  # "write": 1 input token a turn
    assert got.unpriced == []


def test_pinning_sets_the_latest_versions_and_refuses_what_has_none() -> None:
    pinned = pin(plan(tool("a"), agent("w")), lookup())
    steps = pinned.phases[0].steps
    assert (steps[0].tool.version, steps[1].agent.version) == ("1.0.0", 2)  # type: ignore[union-attr]  # tool/agent steps
    with pytest.raises(Invalid) as refused:
        pin(plan(tool("a", name="draft")), lookup())
    assert (refused.value.code, refused.value.field) == ("unpinnable", "phases[0].steps[0]")


@pytest.mark.parametrize("name", ["production", "staging", "my-label_2"])
def test_good_label_names(name: str) -> None:
    assert check_label(name) == name


@pytest.mark.parametrize("name", ["", "Prod", "1st", "a" * 41, "a b"])
def test_bad_label_names(name: str) -> None:
    with pytest.raises(Invalid):
        check_label(name)


def test_a_label_only_on_an_approved_version() -> None:
    check_label_target(3, approved=True)
    with pytest.raises(Conflict):
        check_label_target(3, approved=False)


def test_approval_refuses_errors_and_a_forecast_over_budget() -> None:
    p = plan(tool("a"), budget=Budget(max_cost=Money(amount_micros=10)))
    check_approvable(p, [], None)
    warning = ValidationIssue(code="deprecated_tool", message="m", severity="warning")
    check_approvable(p, [warning], None)
    error = ValidationIssue(code="cycle", message="m", severity="error", path="phases[0]")
    with pytest.raises(Conflict) as refused:
        check_approvable(p, [warning, error], None)
    assert (refused.value.code, refused.value.field) == ("plan_invalid", "phases[0]")
    dear = CostForecast(p50=Money(amount_micros=5), p95=Money(amount_micros=11), runs=5)
    with pytest.raises(Conflict) as over:
        check_approvable(p, [], dear)
    assert over.value.code == "over_budget"


def test_the_discovery_gate() -> None:
    check_gate(forced=False, accept_gaps=False)
    check_gate(forced=True, accept_gaps=True)
    check_gate(forced=True, accept_gaps=False, required=False)
    with pytest.raises(Conflict) as refused:
        check_gate(forced=True, accept_gaps=False)
    assert refused.value.code == "gaps_not_accepted"
