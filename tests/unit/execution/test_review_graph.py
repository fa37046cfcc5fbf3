"""Review of the plan compiler: map bodies it accepted but the engine cannot run."""

from __future__ import annotations

from uuid import uuid4

import pytest

from agentsuite_contracts.planning import PlanPhase, PlanSnapshot
from agentsuite_contracts.steps import (
    ConditionStep,
    MapStep,
    ParallelStep,
    PlanStep,
    StepKind,
    ToolStep,
)
from agentsuite_execution.domain.graph import PlanError, compile_plan


def plan(*steps: PlanStep) -> PlanSnapshot:
    return PlanSnapshot(
        plan_id=uuid4(),
        version=1,
        name="p",
        goal="g",
        phases=[PlanPhase(key="main", name="main", steps=list(steps))],
    )


def tool(key: str, deps: tuple[str, ...] = ()) -> PlanStep:
    return PlanStep(
        key=key,
        name=key,
        kind=StepKind.TOOL,
        depends_on=list(deps),
        tool=ToolStep(tool="builtin.noop"),
    )


def each(key: str, body: list[str]) -> PlanStep:
    return PlanStep(
        key=key, name=key, kind=StepKind.MAP, map=MapStep(items="${inputs.xs}", body=body)
    )


def test_a_step_in_two_map_bodies_is_rejected() -> None:
    # both maps would make `work[0]`: the second insert of the key breaks the run
    with pytest.raises(PlanError, match="two map bodies"):
        compile_plan(plan(each("m1", ["work"]), each("m2", ["work"]), tool("work")), max_steps=10)


def test_a_map_in_a_map_body_is_rejected() -> None:
    # an instance `inner[0]` names no plan step: opening it cannot find its body
    steps = (each("outer", ["inner"]), each("inner", ["work"]), tool("work"))
    with pytest.raises(PlanError, match="map body"):
        compile_plan(plan(*steps), max_steps=10)


def test_a_map_naming_itself_in_its_body_is_rejected() -> None:
    # it would be a template only: no node, so nothing of it ever runs
    with pytest.raises(PlanError, match="map body"):
        compile_plan(plan(each("loop", ["loop", "work"]), tool("work")), max_steps=10)


def test_a_parallel_in_a_map_body_is_rejected() -> None:
    # its branch steps would be plain nodes that run at once, outside any item
    fan = PlanStep(
        key="fan",
        name="fan",
        kind=StepKind.PARALLEL,
        parallel=ParallelStep(branches=[["a"], ["b"]]),
    )
    with pytest.raises(PlanError, match="map body"):
        compile_plan(plan(each("loop", ["fan"]), fan, tool("a"), tool("b")), max_steps=10)


def test_a_condition_in_a_map_body_is_rejected() -> None:
    # its instance would resolve the plan step `outside` (not an instance) once per item
    check = PlanStep(
        key="check",
        name="check",
        kind=StepKind.CONDITION,
        condition=ConditionStep(expression="true", if_true=[], if_false=["outside"]),
    )
    steps = (each("loop", ["check"]), check, tool("outside", ("loop",)))
    with pytest.raises(PlanError, match="map body"):
        compile_plan(plan(*steps), max_steps=10)


def test_a_map_body_step_depending_on_an_unknown_step_is_rejected() -> None:
    with pytest.raises(PlanError, match="unknown step 'nowhere'"):
        compile_plan(plan(each("loop", ["work"]), tool("work", ("nowhere",))), max_steps=10)


def test_plain_steps_chained_in_a_map_body_are_accepted() -> None:
    nodes = compile_plan(plan(each("loop", ["a", "b"]), tool("a"), tool("b")), max_steps=10)
    assert [n.key for n in nodes] == ["loop"]


def test_a_step_depending_on_a_compensation_is_rejected() -> None:
    # a compensation only runs when a run is undone: its dependant would wait forever
    undo = tool("undo")
    work = tool("work").model_copy(update={"compensation": "undo"})
    with pytest.raises(PlanError, match="a compensation"):
        compile_plan(plan(work, undo, tool("after", ("undo",))), max_steps=10)
