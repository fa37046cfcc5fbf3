"""Plan steps: one block per kind, the shared guard rails, open kinds, budgets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from agentsuite_contracts import Money, decode, uuid7
from agentsuite_contracts.execution import BudgetLimit, BudgetWarning
from agentsuite_contracts.steps import (
    AgentStep,
    ApprovalStep,
    Budget,
    ConditionStep,
    LlmStep,
    MapStep,
    OnLimit,
    ParallelStep,
    PlanStep,
    StepKind,
    SubplanStep,
    ToolStep,
    WaitStep,
)

pytestmark = pytest.mark.unit

BLOCKS: dict[StepKind, Any] = {
    StepKind.TOOL: ToolStep(tool="crm.search", input={"q": "${inputs.segment}"}),
    StepKind.LLM: LlmStep(prompt="Summarise ${steps.fetch.output}"),
    StepKind.AGENT: AgentStep(agent="researcher", task="Find competitors"),
    StepKind.CONDITION: ConditionStep(expression="steps.score.output > 0.5", if_true=["send"]),
    StepKind.PARALLEL: ParallelStep(branches=[["a1", "a2"], ["b1"]]),
    StepKind.MAP: MapStep(items="${steps.fetch.output}", body=["enrich"], max_concurrency=4),
    StepKind.WAIT: WaitStep(duration_ms=1000),
    StepKind.APPROVAL: ApprovalStep(prompt="Send?", approvers=["role:sales-lead"]),
    StepKind.SUBPLAN: SubplanStep(plan_id=uuid7(), inputs={"x": 1}),
}


def test_every_kind_has_a_block() -> None:
    assert set(BLOCKS) == set(StepKind)
    for kind in StepKind:
        assert kind.value in PlanStep.model_fields, f"PlanStep lacks the `{kind}` block"


@pytest.mark.parametrize("kind", list(StepKind))
def test_step_with_its_block_validates_and_round_trips(kind: StepKind) -> None:
    step = PlanStep(
        key="s",
        name="S",
        kind=kind,
        timeout_ms=5000,
        max_cost=Money.of("0.50"),
        **{kind.value: BLOCKS[kind]},
    )
    assert PlanStep.model_validate_json(step.model_dump_json()) == step
    assert step.kind is kind


def test_step_with_another_kinds_block_rejected() -> None:
    with pytest.raises(
        ValidationError, match=r"step 's': kind 'llm' needs exactly the `llm` block"
    ):
        PlanStep(key="s", name="S", kind=StepKind.LLM, tool=BLOCKS[StepKind.TOOL])


def test_step_with_two_blocks_rejected() -> None:
    with pytest.raises(ValidationError, match="set: llm, tool"):
        PlanStep(
            key="s",
            name="S",
            kind=StepKind.TOOL,
            tool=BLOCKS[StepKind.TOOL],
            llm=BLOCKS[StepKind.LLM],
        )


def test_step_without_block_rejected() -> None:
    with pytest.raises(ValidationError, match="set: none"):
        PlanStep(key="s", name="S", kind=StepKind.MAP)


def test_step_of_a_newer_kind_kept_as_str() -> None:
    # a planning service on a later v1 may send a kind (and its block) this one cannot name
    step = PlanStep.model_validate(
        {"key": "s", "name": "S", "kind": "webhook", "webhook": {"url": "x"}}, extra="ignore"
    )
    assert step.kind == "webhook"
    with pytest.raises(ValidationError, match="needs exactly the `webhook` block; set: tool"):
        PlanStep(key="s", name="S", kind="webhook", tool=BLOCKS[StepKind.TOOL])


def test_wait_needs_exactly_one_of_duration_and_until() -> None:
    with pytest.raises(ValidationError, match="wait: set exactly one of duration_ms and until"):
        WaitStep()
    with pytest.raises(ValidationError, match="wait: set exactly one"):
        WaitStep(duration_ms=1, until=datetime.now(UTC))


def test_parallel_needs_two_branches_and_map_a_body() -> None:
    with pytest.raises(ValidationError, match="branches"):
        ParallelStep(branches=[["a"]])
    with pytest.raises(ValidationError, match="body"):
        MapStep(items="${x}", body=[])


def test_budget_defaults_warn_at_80_and_pause() -> None:
    budget = Budget(max_cost=Money.of(5), max_tokens=100_000)
    assert budget.warn_at_percent == 80
    assert budget.on_limit is OnLimit.PAUSE
    with pytest.raises(ValidationError, match="warn_at_percent"):
        Budget(warn_at_percent=0)
    with pytest.raises(ValidationError, match="warn_at_percent"):
        Budget(warn_at_percent=101)


def test_budget_warning_travels_on_the_execution_topic() -> None:
    warning = BudgetWarning(
        execution_id=uuid7(),
        limit=BudgetLimit.COST,
        allowed=5_000_000,
        used=4_100_000,
        currency="USD",
        threshold_percent=80,
    )
    raw = {
        "producer": "execution",
        "subject": {"type": "execution", "id": str(warning.execution_id)},
        "correlation_id": str(uuid7()),
        "payload": warning.model_dump(mode="json"),
    }
    assert decode("execution.executions.v1", raw).payload == warning
