"""Every validation code, each from a plan that has exactly that problem (and a valid plan
that has none)."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from agentsuite_contracts.common import Money
from agentsuite_contracts.planning import CostForecast, PlanSnapshot
from agentsuite_contracts.steps import Budget, MapStep, PlanStep, StepKind
from agentsuite_planning.domain.lookup import ToolEntry, ToolVersion
from agentsuite_planning.domain.validation import CODES, Limits, has_errors, validate
from tests.unit.planning.builders import (
    SUB,
    agent,
    approval,
    cond,
    each,
    fan,
    llm,
    lookup,
    plan,
    requirement,
    step,
    subplan,
    tool,
)

CLOSED_INPUTS = {"type": "object", "properties": {"xs": {}}, "additionalProperties": False}


def codes(p: PlanSnapshot, **kw: object) -> list[tuple[str, str | None]]:
    return [(i.code, i.path) for i in validate(p, lookup(), **kw)]  # type: ignore[arg-type]  # test kwargs


def test_a_realistic_plan_has_no_issue() -> None:
    p = plan(
        tool("fetch", input={"to": "${inputs.email}", "count": 3}),
        llm("score", "fetch", prompt="rate ${steps.fetch.output.items[0]}"),
        cond("good", "score", expression="steps.score.output.value > 3", yes=["send"], no=["log"]),
        tool("send", input={"to": "x ${steps.score.output}"}),
        agent("log", task="note ${inputs.email}", version=2),
        each("per", ["one"], "fetch", items="${steps.fetch.output.items}"),
        tool("one", input={"to": "${item.email}"}),
        fan("both", ["a1", "a2"], ["b1"]),
        tool("a1", compensation="undo"),
        tool("a2", "a1", input={"to": "${steps.a1.output}"}),
        tool("b1"),
        tool("undo", input={"to": "${compensated.id}"}),
        subplan("sub", version=2),
        approval("ok", "role:ops", str(uuid4())),
        step("pause", StepKind.WAIT, "ok", wait={"duration_ms": 5}),
        # after the fan-out, its branches' outputs are there
        llm("join", "both", prompt="${steps.a2.output} and ${steps.b1.output}"),
    )
    assert validate(p, lookup()) == []


@pytest.mark.parametrize(
    ("code", "p", "path"),
    [
        ("duplicate_key", plan(tool("a"), tool("a")), "phases[0].steps[1].key"),
        ("invalid_key", plan(tool("a[0]")), "phases[0].steps[0].key"),
        (
            "out_of_range",
            plan(tool("a").model_copy(update={"timeout_ms": 2**63})),
            "phases[0].steps[0].timeout_ms",
        ),
        ("cycle", plan(tool("a", "b"), tool("b", "a")), "phases[0].steps[0].depends_on"),
        ("missing_dependency", plan(tool("a", "nowhere")), "phases[0].steps[0].depends_on[0]"),
        (
            "missing_dependency",
            plan(cond("c", yes=["a"], no=["gone"]), tool("a")),
            "phases[0].steps[0].condition.if_false[0]",
        ),
        (
            "invalid_container",
            plan(fan("f", ["a"], ["a"]), tool("a")),
            "phases[0].steps[0].parallel.branches[1][0]",
        ),
        (
            "invalid_container",
            plan(tool("a", compensation="u"), tool("u", "a")),
            "phases[0].steps[1].depends_on",
        ),
        (
            "unreachable",
            plan(each("m", ["a"]), tool("a"), tool("b", "a")),
            "phases[0].steps[2].depends_on[0]",
        ),
        (
            "unreachable",
            plan(tool("a", compensation="u"), tool("u"), tool("b", "u")),
            "phases[0].steps[2].depends_on[0]",
        ),
        (
            "unreachable",
            plan(cond("c", yes=["a"], no=["a"]), tool("a")),
            "phases[0].steps[0].condition.if_false[0]",
        ),
        ("unknown_tool", plan(tool("a", name="nope")), "phases[0].steps[0].tool.tool"),
        ("unknown_tool_version", plan(tool("a", version="9")), "phases[0].steps[0].tool.version"),
        ("unknown_tool_version", plan(tool("a", name="draft")), "phases[0].steps[0].tool.version"),
        ("deprecated_tool", plan(tool("a", version="0.9.0")), "phases[0].steps[0].tool.version"),
        ("unknown_agent", plan(agent("a", name="nope")), "phases[0].steps[0].agent.agent"),
        ("unknown_agent_version", plan(agent("a", version=7)), "phases[0].steps[0].agent.version"),
        (
            "unknown_agent_version",
            plan(agent("a", name="ghost")),
            "phases[0].steps[0].agent.version",
        ),
        ("deprecated_agent", plan(agent("a", version=1)), "phases[0].steps[0].agent.version"),
        ("unknown_subplan", plan(subplan("s", uuid4())), "phases[0].steps[0].subplan.plan_id"),
        ("unknown_subplan", plan(subplan("s", SUB, 3)), "phases[0].steps[0].subplan.plan_id"),
        ("invalid_binding", plan(tool("a", input={})), "phases[0].steps[0].tool.input"),
        ("invalid_binding", plan(tool("a", input={"to": 5})), "phases[0].steps[0].tool.input.to"),
        (
            "invalid_binding",
            plan(tool("a", input={"to": "x", "extra": 1})),
            "phases[0].steps[0].tool.input.extra",
        ),
        (
            "invalid_binding",
            plan(tool("a", input={"to": "x", "count": "n=${inputs.n}"})),
            "phases[0].steps[0].tool.input.count",
        ),
        ("invalid_expression", plan(llm("a", prompt="${steps.}")), "phases[0].steps[0].llm.prompt"),
        (
            "invalid_expression",
            plan(cond("c", expression="1 +", yes=["a"], no=[]), tool("a")),
            "phases[0].steps[0].condition.expression",
        ),
        (
            "unknown_reference",
            plan(llm("a", prompt="${steps.b.output}"), llm("b")),
            "phases[0].steps[0].llm.prompt",
        ),
        (
            "unknown_reference",
            plan(llm("a", prompt="${steps.zz}")),
            "phases[0].steps[0].llm.prompt",
        ),
        ("unknown_reference", plan(llm("a", prompt="${item}")), "phases[0].steps[0].llm.prompt"),
        (
            "unknown_reference",
            plan(llm("a", prompt="${inputs.nope}"), inputs_schema=CLOSED_INPUTS),
            "phases[0].steps[0].llm.prompt",
        ),
        ("no_approvers", plan(approval("ok", " ")), "phases[0].steps[0].approval.approvers[0]"),
        ("no_approvers", plan(approval("ok", "role:")), "phases[0].steps[0].approval.approvers[0]"),
        (
            "unknown_requirement",
            plan(tool("a").model_copy(update={"serves": ["r9"]})),
            "phases[0].steps[0].serves[0]",
        ),
    ],
)
def test_each_code_names_its_path(code: str, p: PlanSnapshot, path: str) -> None:
    issues = validate(p, lookup())
    assert (code, path) in [(i.code, i.path) for i in issues]
    assert all(i.severity == CODES[i.code] for i in issues)


def test_too_many_steps_is_an_error_over_the_limit() -> None:
    p = plan(tool("a"), tool("b"), tool("c"))
    assert ("too_many_steps", "phases") in codes(p, limits=Limits(max_steps=2))
    assert codes(p, limits=Limits(max_steps=3)) == []


def test_too_large_is_an_error_over_the_byte_limit() -> None:
    p = plan(llm("a", prompt="x" * 5_000))
    assert ("too_large", None) in codes(p, limits=Limits(max_bytes=8_000))
    assert codes(p, limits=Limits(max_bytes=20_000)) == []


def test_over_budget_is_a_warning_in_validation() -> None:
    p = plan(tool("a"), budget=Budget(max_cost=Money(amount_micros=100)))
    dear = CostForecast(p50=Money(amount_micros=50), p95=Money(amount_micros=101), runs=9)
    issues = validate(p, lookup(), forecast=dear)
    assert [(i.code, i.severity, i.path) for i in issues] == [
        ("over_budget", "warning", "budget.max_cost")
    ]
    assert not has_errors(issues)
    cheap = dear.model_copy(update={"p95": Money(amount_micros=100)})
    assert validate(p, lookup(), forecast=cheap) == []


def test_every_problem_is_reported_not_only_the_first() -> None:
    p = plan(tool("a", "x"), tool("b", "y"), tool("a"), tool("c", name="nope"))
    found = codes(p)
    assert found.count(("missing_dependency", "phases[0].steps[0].depends_on[0]")) == 1
    assert ("missing_dependency", "phases[0].steps[1].depends_on[0]") in found
    assert ("duplicate_key", "phases[0].steps[2].key") in found
    assert ("unknown_tool", "phases[0].steps[3].tool.tool") in found


def test_a_map_body_sees_its_item_and_earlier_body_steps_only() -> None:
    ok = plan(
        each("m", ["a", "b"]),
        tool("a", input={"to": "${item}"}),
        tool("b", input={"to": "${steps.a.output}"}),
    )
    assert codes(ok) == []
    late = plan(each("m", ["a", "b"]), tool("a", input={"to": "${steps.b.output}"}), tool("b"))
    assert ("unknown_reference", "phases[0].steps[1].tool.input.to") in codes(late)


def test_a_reference_across_phases_to_an_upstream_step_is_fine() -> None:
    p = plan(tool("a"))
    p = p.model_copy(
        update={
            "phases": [
                *p.phases,
                p.phases[0].model_copy(
                    update={
                        "key": "two",
                        "steps": [tool("b", "a", input={"to": "${steps.a.output}"})],
                    }
                ),
            ]
        }
    )
    assert codes(p) == []


def test_every_code_has_a_test() -> None:
    tested = {"too_many_steps", "too_large", "over_budget"}
    source = Path(__file__).read_text()
    assert {c for c in CODES if f'"{c}"' in source} | tested == set(CODES)


def test_requirements_named_by_serves_are_known() -> None:
    p = plan(tool("a").model_copy(update={"serves": ["r1"]}), requirements=[requirement("r1")])
    assert codes(p) == []


def test_a_tool_schema_whose_refs_loop_is_an_issue_not_a_crash() -> None:
    looping = {"$defs": {"a": {"$ref": "#/$defs/a"}}, "$ref": "#/$defs/a"}
    entry = ToolEntry("loop", latest="1", versions={"1": ToolVersion("1", input_schema=looping)})
    issues = validate(plan(tool("a", name="loop", input={"x": 1})), lookup(tools={"loop": entry}))
    assert [(i.code, i.path) for i in issues] == [
        ("invalid_binding", "phases[0].steps[0].tool.input")
    ]


def test_a_forecast_of_absurd_token_counts_stays_within_what_money_columns_hold() -> None:
    # 2^62 output tokens across a map of 2^62 items was a forecast of ~10^40 micro-units in
    # `plan.validated` / `plan.approved`, past every bigint and JSON integer a consumer reads
    from agentsuite_kit.plans import MAX_LIMIT
    from agentsuite_planning.domain.forecast import History, Price, forecast

    each = PlanStep(
        key="m",
        name="m",
        kind=StepKind.MAP,
        map=MapStep(items="${inputs.xs}", body=["b"], max_items=2**62),
    )
    p = plan(each, llm("b", model="big", max_tokens=2**62))
    found = forecast(p, {"big": Price(10**9, 10**9)}, History())
    assert found.p95.amount_micros == found.p50.amount_micros == MAX_LIMIT
