"""A plan snapshot as the engine runs it: step nodes with their dependencies.

Dependencies are the plan's `depends_on`, plus what the container kinds imply:
- `condition`: the steps it names in `if_true`/`if_false` wait for it; the branch not
  taken is skipped (and so is whatever only it fed).
- `parallel`: each branch's first step waits for the parallel step to open it (a gate),
  each later one for the step before it in its branch; the parallel step finishes when
  its branches have (all, or the first).
- `map`: its body steps are templates, not nodes; the map makes one instance of the body
  per item (`<key>[<i>]`), chained in body order, and finishes when every item has.

A step runs when every dependency finished, none failed (softly: `on_error: continue`)
and at least one succeeded (or it has none): so a join after a condition runs on
whichever branch was taken.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import PlanStep
from agentsuite_kit.plans import shape


class PlanError(ValueError):
    """The plan cannot be run as written; `step` names the step concerned."""

    def __init__(self, message: str, step: str | None = None) -> None:
        super().__init__(message)
        self.step = step


@dataclass
class Node:
    """One step row to create: its spec, its dependencies and who waits on it."""

    key: str
    kind: str
    spec: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)
    dependents: list[str] = field(default_factory=list)
    # a container's gate: opened by the container, not a finished dependency
    gated: bool = False
    parent: str | None = None
    item: Any = None
    # a compensation: never runs in the normal flow, only when the run is undone
    standby: bool = False

    @property
    def deps_total(self) -> int:
        return len(self.depends_on) + (1 if self.gated else 0)


def steps_of(plan: PlanSnapshot) -> list[PlanStep]:
    return [s for phase in plan.phases for s in phase.steps]


def templates_of(plan: PlanSnapshot) -> set[str]:
    """Keys of map bodies: instantiated per item, never run as themselves."""
    return {k for s in steps_of(plan) if s.map is not None for k in s.map.body}


def compile_plan(plan: PlanSnapshot, *, max_steps: int) -> list[Node]:
    """The nodes to create when a run of `plan` starts (map bodies come later). The rules
    are the kit's (`agentsuite_kit.plans`, which planning validates with): the first
    problem found is the refusal."""
    found = shape(plan, max_steps=max_steps)
    if found.problems:
        first = found.problems[0]
        raise PlanError(first.message, first.step)
    nodes = {
        v.key: Node(
            v.key,
            str(v.step.kind),
            v.step.model_dump(mode="json", exclude_none=True),
            depends_on=list(v.depends_on),
            gated=v.gated,
            parent=v.parent,
            standby=v.standby,
        )
        for v in found.vertices.values()
    }
    for node in nodes.values():
        for dep in node.depends_on:
            nodes[dep].dependents.append(node.key)
    return list(nodes.values())


def instances(plan: PlanSnapshot, map_key: str, items: list[Any]) -> list[list[Node]]:
    """One chain of body nodes per item of `map_key`, in body order; each chain's head is
    gated (the map opens it, within its concurrency)."""
    by_key = {s.key: s for s in steps_of(plan)}
    spec = by_key[map_key].map
    assert spec is not None
    chains: list[list[Node]] = []
    for index, item in enumerate(items):
        chain: list[Node] = []
        for position, body_key in enumerate(spec.body):
            s = by_key[body_key]
            node = Node(
                f"{body_key}[{index}]",
                str(s.kind),
                s.model_dump(mode="json", exclude_none=True),
                gated=position == 0,
                parent=map_key,
                item={"var": spec.item_var, "value": item, "index": index},
            )
            if chain:
                node.depends_on.append(chain[-1].key)
                chain[-1].dependents.append(node.key)
            chain.append(node)
        chains.append(chain)
    return chains


def plan_key(key: str) -> str:
    """`fetch[3]` -> `fetch`: the plan step an instance was made from."""
    return key.split("[", 1)[0]
