"""Budget arithmetic of LLM calls: the prompt estimate, the cost bound, the completion cap
under a token budget, which warnings are due, and an agent's limits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from agentsuite_contracts.common import Money
from agentsuite_contracts.llm import (
    ChatMessage,
    LlmRequest,
    ResponseFormat,
    Role,
    ToolCall,
    ToolDefinition,
)
from agentsuite_contracts.steps import Budget, OnLimit
from agentsuite_execution.domain.budgets import (
    BudgetChange,
    changed,
    completion_cap,
    cost_micros,
    crossed,
)
from agentsuite_execution.domain.catalog import Price
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.engine.agent import over_limits
from agentsuite_execution.engine.budget import prompt_tokens
from agentsuite_execution.engine.llm import function_name
from agentsuite_kit.llm_body import chat_body
from agentsuite_llm_gateway.domain import asks


def run(**values: Any) -> Run:
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "tenant_id": uuid4(),
        "execution_id": uuid4(),
        "plan_id": uuid4(),
        "plan_version": 1,
        "status": "running",
        "trigger": "api",
        "schedule_id": None,
        "due_at": None,
        "inputs": {},
        "labels": {},
        "budget": None,
        "plan": {},
        "manifest": {},
        "outputs": None,
        "error": None,
        "failed_step": None,
        "parent_execution_id": None,
        "parent_step": None,
        "created_by": None,
        "pause_timers": None,
        "pause_reason": None,
        "paused_at": None,
        "generation": 1,
        "version": 1,
        "open_steps": 1,
        "tokens_used": 0,
        "cost_used": 0,
        "tokens_reserved": 0,
        "cost_reserved": 0,
        "prompt_tokens": 0,
        "completion_tokens": 0,
        "currency": "USD",
        "warned": [],
        "exceeded": [],
        "created_at": now,
        "started_at": now,
        "finished_at": None,
        "updated_at": now,
    }
    return Run(**{**base, **values})


MESSAGES = [
    ChatMessage(role=Role.SYSTEM, content="be brief"),
    ChatMessage(role=Role.USER, content="a b c d e f g h i j k l m n o p"),
    ChatMessage(
        role=Role.ASSISTANT,
        tool_calls=[ToolCall(id="1", name="echo", arguments='{"a":1}')],
    ),
]


@pytest.mark.parametrize("model", [None, "stub-model", "gpt-4o", "gpt-4-turbo"])
def test_the_prompt_bound_is_the_gateways_for_the_same_request(model: str | None) -> None:
    tool = ToolDefinition(name="t", parameters={"type": "object"})
    fmt = ResponseFormat(kind="json_schema", name="x", json_schema={"type": "object"})
    request = LlmRequest(
        requester="execution", model=model, messages=MESSAGES, tools=[tool], response_format=fmt
    )
    ours = prompt_tokens(model, MESSAGES, [tool], fmt)
    assert ours == asks.input_bound(chat_body(request), model)
    assert prompt_tokens(model, MESSAGES) < prompt_tokens(model, MESSAGES, [tool]) < ours


def test_short_words_are_not_bounded_by_characters_over_four() -> None:
    # 16 one-letter words: any BPE tokenizer makes at least 16 tokens of them
    words = [ChatMessage(role=Role.USER, content="a b c d e f g h i j k l m n o p")]
    assert prompt_tokens(None, words) >= 31  # a token per byte
    assert prompt_tokens("gpt-4o", words) >= 16


def test_cost_bound_rounds_up_to_the_micro() -> None:
    price = Price(model="m", input_micros=1_000_000, output_micros=3_000_000, currency="USD")
    assert cost_micros(price, 10, 5) == 10 + 15
    cheap = Price(model="m", input_micros=1, output_micros=1, currency="USD")
    assert cost_micros(cheap, 1, 1) == 1  # 2 / 1e6 of a micro is still one
    assert cost_micros(cheap, 0, 0) == 0


def test_completion_is_capped_by_the_tokens_left_after_the_prompt() -> None:
    limits = Budget(max_tokens=100)
    assert completion_cap(None, run(), 10, 50) == 50
    assert completion_cap(limits, run(), 10, 50) == 50
    assert completion_cap(limits, run(tokens_used=30, tokens_reserved=20), 10, 50) == 40
    assert completion_cap(limits, run(tokens_used=90), 10, 50) == 0
    assert completion_cap(limits, run(tokens_used=95), 10, 50) < 0


def test_warnings_are_due_once_per_dimension_at_the_threshold() -> None:
    limits = Budget(max_cost=Money(amount_micros=1000), max_tokens=100, warn_at_percent=80)
    assert crossed(limits, run(cost_used=799, tokens_used=79)) == []
    assert crossed(limits, run(cost_used=800, tokens_used=79)) == [("cost", 1000, 800)]
    both = crossed(limits, run(cost_used=900, tokens_used=80))
    assert both == [("cost", 1000, 900), ("tokens", 100, 80)]
    assert crossed(limits, run(cost_used=900, tokens_used=80, warned=["cost"])) == [
        ("tokens", 100, 80)
    ]
    never = Budget(max_cost=Money(amount_micros=1000), warn_at_percent=None)
    assert crossed(never, run(cost_used=1000)) == []


def checkpoint(**limits: Any) -> dict[str, Any]:
    values = {"turns": 3, "tokens": None, "cost": None, "timeout_ms": None, **limits}
    started = datetime.now(UTC).isoformat()
    return {"limits": values, "turn": 0, "tokens": 0, "started": started}


def test_agent_limits_turns_tokens_cost_and_time() -> None:
    now = datetime.now(UTC)
    assert over_limits(checkpoint(), 0, now) is None
    assert "3 turns" in (over_limits({**checkpoint(), "turn": 3}, 0, now) or "")
    assert over_limits({**checkpoint(tokens=100), "tokens": 99}, 0, now) is None
    assert "tokens" in (over_limits({**checkpoint(tokens=100), "tokens": 100}, 0, now) or "")
    assert over_limits(checkpoint(cost=500), 499, now) is None
    assert "micros" in (over_limits(checkpoint(cost=500), 500, now) or "")
    later = now + timedelta(seconds=2)
    assert over_limits(checkpoint(timeout_ms=5000), 0, later) is None
    assert "ms" in (over_limits(checkpoint(timeout_ms=1000), 0, later) or "")


@pytest.mark.parametrize(
    ("tool", "name"),
    [("builtin.echo", "builtin_echo"), ("web search/v2", "web_search_v2"), ("ok-1_x", "ok-1_x")],
)
def test_tool_names_become_function_names_providers_accept(tool: str, name: str) -> None:
    assert function_name(tool) == name


def test_a_budget_change_sets_the_named_limits_and_keeps_the_rest() -> None:
    limits = Budget(max_cost=Money(amount_micros=100), max_tokens=50, on_limit=OnLimit.PAUSE)
    r = run(status="paused", budget=limits.model_dump(mode="json"), cost_used=60, cost_reserved=20)
    budget, touched = changed(r, BudgetChange(max_cost=Money(amount_micros=80)), 0)
    assert budget.max_cost == Money(amount_micros=80)  # spent + held is the floor
    assert (budget.max_tokens, budget.on_limit) == (50, OnLimit.PAUSE)
    assert touched == ["cost"]
    fresh, _ = changed(run(budget=None), BudgetChange(max_tokens=10), 0)
    assert fresh.max_tokens == 10


@pytest.mark.parametrize(
    ("values", "change", "code"),
    [
        (
            {"cost_used": 60, "cost_reserved": 20},
            BudgetChange(max_cost=Money(amount_micros=79)),
            "conflict",
        ),
        ({"tokens_used": 5}, BudgetChange(max_tokens=4), "conflict"),
        ({}, BudgetChange(max_cost=Money(amount_micros=1, currency="EUR")), "invalid"),
        ({}, BudgetChange(), "invalid"),
        ({"status": "completed"}, BudgetChange(max_tokens=10), "conflict"),
        ({}, BudgetChange(max_duration_ms=1000), "conflict"),  # it has run 1000 ms
    ],
)
def test_a_budget_change_below_the_floor_or_on_an_ended_run_is_refused(
    values: dict[str, Any], change: BudgetChange, code: str
) -> None:
    with pytest.raises(RunError) as refused:
        changed(run(**values), change, 1000)
    assert refused.value.code == code
