"""A semantic diff between two plan versions, and applying one.

Steps are matched by key across the plan, phases by key; plan fields (name, goal,
inputs_schema, budget, requirements) are compared whole. A step is `changed` when its
content changed or it moved among the steps it shares a phase with; a step whose phase
changed is `removed` (where it was) and `added` (where it is). "Moved" is relative: the
longest run of common items kept in order stays put, the others are the moves, so one
inserted step is one change, not a change for each step after it. A change's path is the
item's place in the version it comes from (`before`: the old one for `removed`).

`apply(a, diff(a, b)) == b` (but for plan_id and version, which are a's): every item of b
with no change keeps its place relative to the others, the changed and added ones land at
their paths.
"""

from __future__ import annotations

import bisect
import re
from typing import Any, Literal

from pydantic import BaseModel, Field

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import PlanStep

FIELDS = ("name", "goal", "inputs_schema", "budget", "requirements")
_PHASE = ("key", "name", "description")
_STEP_PATH = re.compile(r"^phases\[(\d+)\]\.steps\[(\d+)\]$")
_PHASE_PATH = re.compile(r"^phases\[(\d+)\]$")


class Change(BaseModel):
    op: Literal["added", "removed", "changed"]
    path: str = Field(description="JSON path: `goal`, `phases[1]`, `phases[0].steps[3]`.")
    step: str | None = Field(default=None, description="The step's key, for a step change.")
    before: Any = None
    after: Any = None


class PlanDiff(BaseModel):
    changes: list[Change] = Field(default_factory=list)


def diff(a: PlanSnapshot, b: PlanSnapshot) -> PlanDiff:
    changes: list[Change] = []
    for name in FIELDS:
        before, after = getattr(a, name), getattr(b, name)
        if before != after:
            changes.append(
                Change(op="changed", path=name, before=_json(a, name), after=_json(b, name))
            )
    if not (_unique(a) and _unique(b)):
        # a draft may repeat a key (validation says so): matching by key is then ambiguous,
        # so the phases are compared whole
        if a.phases != b.phases:
            changes.append(
                Change(
                    op="changed", path="phases", before=_json(a, "phases"), after=_json(b, "phases")
                )
            )
        return PlanDiff(changes=changes)
    a_phases = {p.key: i for i, p in enumerate(a.phases)}
    b_phases = {p.key: i for i, p in enumerate(b.phases)}
    moved = _moved([k for k in a_phases if k in b_phases], b_phases)
    for i, p in enumerate(a.phases):
        if p.key not in b_phases:
            changes.append(Change(op="removed", path=f"phases[{i}]", before=_meta(p)))
    for i, p in enumerate(b.phases):
        if p.key not in a_phases:
            changes.append(Change(op="added", path=f"phases[{i}]", after=_meta(p)))
            continue
        old = a.phases[a_phases[p.key]]
        if p.key in moved or _meta(old) != _meta(p):
            changes.append(
                Change(op="changed", path=f"phases[{i}]", before=_meta(old), after=_meta(p))
            )
    changes += _steps(a, b)
    return PlanDiff(changes=changes)


def _steps(a: PlanSnapshot, b: PlanSnapshot) -> list[Change]:
    where_a = _places(a)
    where_b = _places(b)
    changes: list[Change] = []
    for key, (p, i, phase_key, s) in where_a.items():
        there = where_b.get(key)
        if there is None or there[2] != phase_key:
            changes.append(Change(op="removed", path=_at(p, i), step=key, before=_dump(s)))
    for p, phase in enumerate(b.phases):
        common = [s.key for s in phase.steps if (w := where_a.get(s.key)) and w[2] == phase.key]
        order = {k: where_a[k][1] for k in common}
        moved = _moved(sorted(common, key=order.__getitem__), {k: n for n, k in enumerate(common)})
        for i, s in enumerate(phase.steps):
            old = where_a.get(s.key)
            if old is None or old[2] != phase.key:
                changes.append(Change(op="added", path=_at(p, i), step=s.key, after=_dump(s)))
            elif s.key in moved or old[3] != s:
                changes.append(
                    Change(
                        op="changed",
                        path=_at(p, i),
                        step=s.key,
                        before=_dump(old[3]),
                        after=_dump(s),
                    )
                )
    return changes


def apply(a: PlanSnapshot, d: PlanDiff) -> PlanSnapshot:
    """`a` with the changes of `d` made (a diff of `a` to some `b` gives `b`)."""
    body = a.model_dump(mode="json")
    phase_slots: dict[int, dict[str, Any]] = {}
    gone_phases: set[str] = set()
    touched_phases: set[str] = set()
    step_slots: dict[int, dict[int, dict[str, Any]]] = {}
    gone_steps: set[str] = set()
    for c in d.changes:
        if c.path in FIELDS or c.path == "phases":
            body[c.path] = c.after
        elif m := _PHASE_PATH.match(c.path):
            if c.op == "removed":
                gone_phases.add(c.before["key"])
            else:
                phase_slots[int(m.group(1))] = dict(c.after)
                touched_phases.add(c.after["key"])
        elif m := _STEP_PATH.match(c.path):
            if c.op in ("removed", "changed"):
                gone_steps.add(c.step or "")
            if c.op != "removed":
                step_slots.setdefault(int(m.group(1)), {})[int(m.group(2))] = c.after
    if not (phase_slots or gone_phases or step_slots or gone_steps):
        return PlanSnapshot.model_validate(body)
    old = {p["key"]: p for p in body["phases"]}
    stay = [p for p in body["phases"] if p["key"] not in gone_phases | touched_phases]
    phases = _fill(stay, phase_slots)
    for p, phase in enumerate(phases):
        kept = [s for s in old.get(phase["key"], {}).get("steps", []) if s["key"] not in gone_steps]
        phase["steps"] = _fill(kept, step_slots.get(p, {}))
    body["phases"] = phases
    return PlanSnapshot.model_validate(body)


def _fill(stay: list[dict[str, Any]], slots: dict[int, dict[str, Any]]) -> list[dict[str, Any]]:
    rest = iter(stay)
    out: list[dict[str, Any]] = []
    for i in range(len(stay) + len(slots)):
        item = slots.get(i)
        out.append(dict(item) if item is not None else next(rest))
    return out


def _moved(keys: list[str], new_index: dict[str, int]) -> set[str]:
    """Keys (in old order) outside a longest run kept in the new order: O(n log n)."""
    tails: list[int] = []  # patience sorting over the new indexes
    tail_at: list[int] = []
    back: list[int] = [-1] * len(keys)
    for n, k in enumerate(keys):
        x = new_index[k]
        j = bisect.bisect_left(tails, x)
        back[n] = tail_at[j - 1] if j else -1
        if j == len(tails):
            tails.append(x)
            tail_at.append(n)
        else:
            tails[j], tail_at[j] = x, n
    keep: set[str] = set()
    n = tail_at[-1] if tail_at else -1
    while n >= 0:
        keep.add(keys[n])
        n = back[n]
    return set(keys) - keep


def _unique(plan: PlanSnapshot) -> bool:
    phases = {p.key for p in plan.phases}
    steps = {s.key for p in plan.phases for s in p.steps}
    return len(phases) == len(plan.phases) and len(steps) == sum(len(p.steps) for p in plan.phases)


def _places(plan: PlanSnapshot) -> dict[str, tuple[int, int, str, PlanStep]]:
    return {
        s.key: (p, i, phase.key, s)
        for p, phase in enumerate(plan.phases)
        for i, s in enumerate(phase.steps)
    }


def _at(p: int, i: int) -> str:
    return f"phases[{p}].steps[{i}]"


def _meta(phase: Any) -> dict[str, Any]:
    return {k: getattr(phase, k) for k in _PHASE}


def _dump(s: PlanStep) -> dict[str, Any]:
    return s.model_dump(mode="json")


def _json(plan: PlanSnapshot, name: str) -> Any:
    return plan.model_dump(mode="json", include={name})[name]
