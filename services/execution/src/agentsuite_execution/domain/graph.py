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
from agentsuite_contracts.steps import PlanStep, StepKind


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


def compile_plan(plan: PlanSnapshot, *, max_steps: int) -> list[Node]:  # noqa: C901  plan validation: one check per rule, in the order a plan author reads the errors
    """The nodes to create when a run of `plan` starts (map bodies come later)."""
    steps = steps_of(plan)
    by_key: dict[str, PlanStep] = {}
    for s in steps:
        if s.key in by_key:
            raise PlanError(f"step key {s.key!r} appears twice", s.key)
        if "[" in s.key or "]" in s.key:
            raise PlanError(f"step key {s.key!r}: `[` and `]` are reserved", s.key)
        by_key[s.key] = s
    if len(by_key) > max_steps:
        raise PlanError(f"the plan has {len(by_key)} steps; at most {max_steps} run")
    templates = templates_of(plan)
    compensations = {c for s in steps if (c := _compensation(s)) is not None}
    for s in steps:  # a map in a body is a template: checked here, not with the nodes
        for key in s.map.body if s.map is not None else []:
            if key not in by_key:
                raise PlanError(f"map step {s.key!r}: unknown body step {key!r}", s.key)
            _body(by_key, s.key, key)
    nodes: dict[str, Node] = {}
    for s in steps:
        if s.key in templates:
            continue
        nodes[s.key] = Node(
            s.key,
            str(s.kind),
            s.model_dump(mode="json", exclude_none=True),
            standby=s.key in compensations,
        )
    for s in steps:
        if s.key in templates:
            continue
        for dep in s.depends_on:
            if dep not in by_key:
                raise PlanError(f"step {s.key!r} depends on unknown step {dep!r}", s.key)
            if dep in templates:
                raise PlanError(f"step {s.key!r} depends on {dep!r}, a map body step", s.key)
            _edge(nodes, dep, s.key)
        if s.kind == StepKind.CONDITION and s.condition is not None:
            for target in (*s.condition.if_true, *s.condition.if_false):
                _known(by_key, templates, s.key, target)
                if s.key not in nodes[target].depends_on:
                    _edge(nodes, s.key, target)
        if s.kind == StepKind.PARALLEL and s.parallel is not None:
            for branch in s.parallel.branches:
                if not branch:
                    raise PlanError(f"parallel step {s.key!r} has an empty branch", s.key)
                for i, key in enumerate(branch):
                    _known(by_key, templates, s.key, key)
                    child = nodes[key]
                    if child.parent is not None:
                        raise PlanError(f"step {key!r} is in two containers", key)
                    child.parent = s.key
                    if i == 0:
                        child.gated = True
                    elif branch[i - 1] not in child.depends_on:
                        _edge(nodes, branch[i - 1], key)
        if (c := _compensation(s)) is not None and c not in nodes:
            raise PlanError(f"step {s.key!r}: unknown compensation step {c!r}", s.key)
    for key in compensations:
        if nodes[key].depends_on or nodes[key].gated:
            raise PlanError(f"compensation step {key!r} cannot have dependencies", key)
    _acyclic(nodes)
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


def _compensation(s: PlanStep) -> str | None:
    return s.compensation


def _known(by_key: dict[str, PlanStep], templates: set[str], owner: str, key: str) -> None:
    if key not in by_key:
        raise PlanError(f"step {owner!r} names unknown step {key!r}", owner)
    if key in templates:
        raise PlanError(f"step {owner!r} names {key!r}, a map body step", owner)


# instances of a body step are plain chains: container edges, gates and branches are not
# made per item, so a container kind in a body would run wrongly (or not at all)
_NOT_IN_BODY = (StepKind.MAP, StepKind.PARALLEL, StepKind.CONDITION)


def _body(by_key: dict[str, PlanStep], owner: str, key: str) -> None:
    body = by_key[key]
    if body.kind in _NOT_IN_BODY:
        message = f"map step {owner!r}: {key!r} is a {body.kind} step; a map body runs plain steps"
        raise PlanError(message, owner)
    others = [s.key for s in by_key.values() if s.map and s.key != owner and key in s.map.body]
    if others:
        raise PlanError(f"step {key!r} is in two map bodies ({owner!r}, {others[0]!r})", key)
    for dep in body.depends_on:
        if dep not in by_key:
            raise PlanError(f"step {key!r} depends on unknown step {dep!r}", key)


def _edge(nodes: dict[str, Node], dep: str, key: str) -> None:
    nodes[key].depends_on.append(dep)
    nodes[dep].dependents.append(key)


def _acyclic(nodes: dict[str, Node]) -> None:
    # Kahn's algorithm over dependencies and container membership (a container waits on
    # its children, so a child depending on its container's dependants is a cycle too)
    waits: dict[str, set[str]] = {k: set(n.depends_on) for k, n in nodes.items()}
    for n in nodes.values():
        if n.parent is not None:
            waits[n.parent].add(n.key)
    # a gated child starts after its container starts: treat the container's own
    # dependencies as the child's, so "child before container's dependency" is caught
    for n in nodes.values():
        if n.gated and n.parent is not None:
            waits[n.key] |= set(nodes[n.parent].depends_on)
    done: set[str] = set()
    frontier = [k for k, w in waits.items() if not w]
    while frontier:
        key = frontier.pop()
        done.add(key)
        for k, w in waits.items():
            if key in w:
                w.discard(key)
                if not w and k not in done and k not in frontier:
                    frontier.append(k)
    stuck = sorted(set(nodes) - done)
    if stuck:
        raise PlanError(f"the plan has a cycle through {', '.join(stuck[:5])}", stuck[0])
