"""Properties of validation and diff over generated plans: a valid DAG always validates, one
with a cycle never does; diff(a, a) is empty and applying diff(a, b) to a gives b."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from agentsuite_contracts.planning import PlanPhase, PlanSnapshot
from agentsuite_contracts.steps import PlanStep
from agentsuite_planning.domain.diff import apply, diff
from agentsuite_planning.domain.validation import validate
from tests.unit.planning.builders import PLAN_ID, llm, lookup, tool

PHASES = ("p0", "p1", "p2")


@st.composite
def dags(draw: st.DrawFn, min_steps: int = 1) -> PlanSnapshot:
    """A valid DAG: each step depends on earlier ones and references some of them."""
    n = draw(st.integers(min_steps, 25))
    steps: list[PlanStep] = []
    for i in range(n):
        deps = sorted(draw(st.sets(st.integers(0, i - 1), max_size=3))) if i else []
        keys = [f"s{d}" for d in deps]
        ref = f"${{steps.s{deps[-1]}.output}}" if deps else "${inputs.x}"
        if draw(st.booleans()):
            steps.append(tool(f"s{i}", *keys, input={"to": ref, "count": draw(st.integers(0, 9))}))
        else:
            steps.append(llm(f"s{i}", *keys, prompt=f"use {ref} please"))
    # phases are a grouping: dependencies may cross them in either direction
    cuts = sorted(draw(st.sets(st.integers(1, max(1, n - 1)), max_size=2)))
    bounds = [0, *cuts, n]
    phases = [
        PlanPhase(key=f"p{k}", name=f"p{k}", steps=steps[bounds[k] : bounds[k + 1]])
        for k in range(len(bounds) - 1)
        if bounds[k] < bounds[k + 1]
    ]
    return PlanSnapshot(plan_id=PLAN_ID, version=1, name="p", goal="g", phases=phases)


@settings(max_examples=150, deadline=None)
@given(dags())
def test_a_generated_valid_dag_always_validates(p: PlanSnapshot) -> None:
    assert validate(p, lookup()) == []


@settings(max_examples=150, deadline=None)
@given(dags(min_steps=2), st.data())
def test_a_dag_with_a_cycle_never_validates(p: PlanSnapshot, data: st.DataObject) -> None:
    steps = [s for phase in p.phases for s in phase.steps]
    i = data.draw(st.integers(0, len(steps) - 2))
    j = data.draw(st.integers(i + 1, len(steps) - 1))
    # j waits for i (directly) and i for j: a ring
    later = steps[j].model_copy(update={"depends_on": sorted({*steps[j].depends_on, steps[i].key})})
    first = steps[i].model_copy(update={"depends_on": [*steps[i].depends_on, steps[j].key]})
    swapped = {first.key: first, later.key: later}
    phases = [
        ph.model_copy(update={"steps": [swapped.get(s.key, s) for s in ph.steps]})
        for ph in p.phases
    ]
    issues = validate(p.model_copy(update={"phases": phases}), lookup())
    assert "cycle" in {i.code for i in issues}


@st.composite
def versions(draw: st.DrawFn) -> PlanSnapshot:
    """A plan over a shared pool of step and phase keys, so two of them overlap, move steps
    between phases, reorder and change them."""
    keys = draw(st.permutations([f"k{i}" for i in range(12)]))
    keys = keys[: draw(st.integers(0, len(keys)))]
    phase_keys = draw(st.permutations(list(PHASES)))
    phase_keys = phase_keys[: draw(st.integers(1, len(PHASES)))]
    groups: dict[str, list[PlanStep]] = {k: [] for k in phase_keys}
    if keys and draw(st.integers(0, 9)) == 0:  # now and then a draft repeats a key
        keys = [*keys, keys[0]]
    for key in keys:
        where = draw(st.sampled_from(phase_keys))
        count = draw(st.integers(0, 2))
        groups[where].append(tool(key, input={"to": "x", "count": count}))
    phases = [
        PlanPhase(key=k, name=draw(st.sampled_from(["A", "B"])), steps=groups[k])
        for k in phase_keys
    ]
    return PlanSnapshot(
        plan_id=PLAN_ID,
        version=1,
        name=draw(st.sampled_from(["one", "two"])),
        goal=draw(st.sampled_from(["g", "h"])),
        inputs_schema=draw(st.sampled_from([{}, {"type": "object"}])),
        phases=phases,
    )


@settings(max_examples=200, deadline=None)
@given(versions())
def test_diff_of_a_version_with_itself_is_empty(a: PlanSnapshot) -> None:
    assert diff(a, a).changes == []


@settings(max_examples=300, deadline=None)
@given(versions(), versions())
def test_applying_a_diff_gives_the_other_version(a: PlanSnapshot, b: PlanSnapshot) -> None:
    assert apply(a, diff(a, b)) == b.model_copy(update={"plan_id": a.plan_id, "version": a.version})
