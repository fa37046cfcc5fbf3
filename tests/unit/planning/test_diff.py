"""The semantic diff: what a person reads as the change is what it reports."""

from __future__ import annotations

from agentsuite_contracts.planning import PlanPhase
from agentsuite_planning.domain.diff import apply, diff
from tests.unit.planning.builders import plan, tool


def test_one_inserted_step_is_one_change_not_one_per_later_step() -> None:
    a = plan(tool("a"), tool("b"), tool("c"))
    b = plan(tool("new"), tool("a"), tool("b"), tool("c"))
    assert [(c.op, c.path, c.step) for c in diff(a, b).changes] == [
        ("added", "phases[0].steps[0]", "new")
    ]


def test_an_edited_step_shows_before_and_after() -> None:
    a = plan(tool("a", input={"to": "x"}))
    b = plan(tool("a", input={"to": "y"}))
    (change,) = diff(a, b).changes
    assert (
        change.op,
        change.step,
        change.before["tool"]["input"],
        change.after["tool"]["input"],
    ) == (
        "changed",
        "a",
        {"to": "x"},
        {"to": "y"},
    )


def test_a_step_moved_to_another_phase_is_removed_and_added() -> None:
    a = plan(tool("a"), tool("b"))
    b = a.model_copy(
        update={
            "phases": [
                PlanPhase(key="main", name="main", steps=[tool("a")]),
                PlanPhase(key="two", name="two", steps=[tool("b")]),
            ]
        }
    )
    assert [(c.op, c.path, c.step) for c in diff(a, b).changes] == [
        ("added", "phases[1]", None),
        ("removed", "phases[0].steps[1]", "b"),
        ("added", "phases[1].steps[0]", "b"),
    ]
    assert apply(a, diff(a, b)) == b


def test_plan_fields_are_compared_whole_and_ids_are_not() -> None:
    a = plan(tool("a"))
    b = a.model_copy(update={"goal": "other", "version": 7})
    assert [(c.op, c.path, c.before, c.after) for c in diff(a, b).changes] == [
        ("changed", "goal", "g", "other")
    ]


def test_a_draft_repeating_a_key_is_diffed_whole_and_applies() -> None:
    a = plan(tool("a"), tool("b"))
    b = plan(tool("a"), tool("a", input={"to": "z"}))
    (change,) = diff(a, b).changes
    assert (change.op, change.path) == ("changed", "phases")
    assert apply(a, diff(a, b)) == b
