"""The kit's structural rules of a plan DAG: every problem with its code and path, in one
linear pass (execution's compile_plan raises the first one: tests/unit/execution)."""

from __future__ import annotations

from agentsuite_kit.plans import problems, shape
from tests.unit.planning.builders import cond, each, fan, plan, tool


def found(*steps: object, max_steps: int = 100) -> list[tuple[str, str | None, str | None]]:
    return [(p.code, p.step, p.path) for p in problems(plan(*steps), max_steps=max_steps)]  # type: ignore[arg-type]  # PlanSteps


def test_a_valid_plan_has_no_problem_and_a_topological_order() -> None:
    s = shape(plan(tool("c", "b"), tool("b", "a"), tool("a")), max_steps=10)
    assert s.problems == []
    assert s.order.index("a") < s.order.index("b") < s.order.index("c")


def test_every_problem_is_returned() -> None:
    assert found(tool("a", "x"), tool("a"), tool("b[1]"), cond("c", yes=["y"], no=[])) == [
        ("duplicate_key", "a", "phases[0].steps[1].key"),
        ("invalid_key", "b[1]", "phases[0].steps[2].key"),
        ("missing_dependency", "a", "phases[0].steps[0].depends_on[0]"),
        ("missing_dependency", "c", "phases[0].steps[3].condition.if_true[0]"),
    ]


def test_a_long_chain_is_acyclic_and_a_ring_is_a_cycle() -> None:
    chain = [tool("s0")] + [tool(f"s{i}", f"s{i - 1}") for i in range(1, 1000)]
    assert found(*chain, max_steps=1000) == []
    ring = [tool("s0", "s999"), *chain[1:]]
    assert [c for c, _, _ in found(*ring, max_steps=1000)] == ["cycle"]


def test_a_branch_head_before_its_containers_dependency_is_a_cycle() -> None:
    # `f` waits for `x`, `x` for `a`, and `a` (f's branch head) starts only after `f` does
    assert [
        c
        for c, _, _ in found(
            fan("f", ["a"], ["b"]).model_copy(update={"depends_on": ["x"]}),
            tool("x", "a"),
            tool("a"),
            tool("b"),
        )
    ] == ["cycle"]


def test_a_step_waiting_on_a_compensation_or_a_map_body_never_runs() -> None:
    assert found(tool("a", compensation="u"), tool("u"), tool("b", "u")) == [
        ("unreachable", "b", "phases[0].steps[2].depends_on[0]")
    ]
    assert found(each("m", ["w"]), tool("w"), tool("b", "w")) == [
        ("unreachable", "b", "phases[0].steps[2].depends_on[0]")
    ]


def test_too_many_steps() -> None:
    assert found(tool("a"), tool("b"), max_steps=1) == [("too_many_steps", None, "phases")]


def test_a_key_longer_than_execution_can_store_is_invalid() -> None:
    # execution keeps a step key (and `key[i]` of a map item) in columns of 200-300
    # characters: a plan planning approves must be one execution can record
    long = "k" * 101
    assert found(tool(long), tool("k" * 100)) == [("invalid_key", long, "phases[0].steps[0].key")]


def test_a_step_that_is_its_own_compensation_is_invalid() -> None:
    # it would be standby (compensation-only) and so never run in the normal flow
    assert found(tool("a", compensation="a"), tool("b")) == [
        ("invalid_container", "a", "phases[0].steps[0].compensation")
    ]


def test_a_duration_or_limit_execution_cannot_hold_is_out_of_range() -> None:
    # execution adds a wait to now (past year 9999: OverflowError) and keeps budgets in
    # bigint columns (past them it dead-letters the approval: the plan never runs)
    from agentsuite_contracts.common import Money
    from agentsuite_contracts.steps import Budget, StepKind, WaitStep
    from tests.unit.planning.builders import step

    wait = step("w", StepKind.WAIT, wait=WaitStep(duration_ms=2**63))
    big = plan(wait, budget=Budget(max_cost=Money(amount_micros=2**62 + 1)))
    assert [(p.code, p.step, p.path) for p in problems(big, max_steps=10)] == [
        ("out_of_range", None, "budget.max_cost.amount_micros"),
        ("out_of_range", "w", "phases[0].steps[0].wait.duration_ms"),
    ]
