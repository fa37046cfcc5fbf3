"""The structural rules of a plan DAG, shared by planning (which reports every problem) and
execution (which refuses a plan on the first): so a plan planning validates is a plan
execution will run.

The graph is the one execution builds: a step waits for its `depends_on`, a condition's
`if_true`/`if_false` targets wait for the condition, a parallel branch's first step is
gated by the parallel step (opened when it starts) and each later one waits for the one
before it, and the parallel step finishes after its branches. Map body steps are
templates (instantiated per item), not nodes; a compensation never runs in the normal
flow (standby).

Everything is linear in steps + edges: one pass to index, one to build edges, one Kahn
sort over dependents lists (a container is two vertices, its start and its end, so a
gated child waits for the start without copying the container's dependencies).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from agentsuite_contracts.planning import PlanSnapshot
from agentsuite_contracts.steps import PlanStep, StepKind

# execution's builtin tools: a plan names them `builtin.<name>` and they run without a
# catalog entry, so planning takes them as known and pins no catalog version for them
# (execution's unit test holds this set to the builtins it ships)
BUILTIN_TOOLS: frozenset[str] = frozenset(
    f"builtin.{name}" for name in ("noop", "echo", "sleep", "fail", "merge", "template")
)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a plan's structure; `path` is a JSON path into the snapshot."""

    code: str
    message: str
    step: str | None = None
    path: str | None = None


@dataclass(slots=True)
class Vertex:
    """A step that becomes a node of a run: what it waits for and how."""

    key: str
    step: PlanStep
    path: str
    depends_on: list[str] = field(default_factory=list)
    # a parallel branch head: opened by its container, not by a finished dependency
    gated: bool = False
    parent: str | None = None
    # a compensation: never runs in the normal flow, only when the run is undone
    standby: bool = False


@dataclass(slots=True)
class Shape:
    """A plan's graph and what is wrong with it. `order` is a topological order of the
    vertices (complete only when there is no `cycle` problem)."""

    problems: list[Problem]
    steps: dict[str, tuple[str, PlanStep]]
    vertices: dict[str, Vertex]
    bodies: dict[str, str]  # map body step -> its map
    order: list[str]


# execution records a step key (and a map item's `key[i]`) in columns of 200 characters
MAX_KEY = 100
# execution adds a duration to now (`datetime` ends in year 9999) and keeps budgets in
# bigint columns with room for one more call's spend: a plan past these would be approved
# and then crash or stick every run of it
MAX_DURATION_MS = 100 * 366 * 24 * 3_600_000
MAX_LIMIT = 2**62
# instances of a body step are plain chains: container edges, gates and branches are not
# made per item, so a container kind in a body would run wrongly (or not at all)
_NOT_IN_BODY = (StepKind.MAP, StepKind.PARALLEL, StepKind.CONDITION)


def located(plan: PlanSnapshot) -> Iterator[tuple[str, PlanStep]]:
    """Every step with its JSON path (`phases[0].steps[3]`), in plan order."""
    for p, phase in enumerate(plan.phases):
        for i, s in enumerate(phase.steps):
            yield f"phases[{p}].steps[{i}]", s


def shape(plan: PlanSnapshot, *, max_steps: int) -> Shape:
    """The plan's graph and every structural problem, in the order execution reports them."""
    c = _Check()
    c.index(plan, max_steps)
    c.ranges(plan)
    c.map_bodies()
    c.edges()
    order = _kahn(c.vertices)
    if len(order) < len(c.vertices):
        stuck = sorted(set(c.vertices) - set(order))
        message = f"the plan has a cycle through {', '.join(stuck[:5])}"
        c.add("cycle", message, stuck[0], f"{c.vertices[stuck[0]].path}.depends_on")
    return Shape(c.problems, c.steps, c.vertices, c.bodies, order)


class _Check:
    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.steps: dict[str, tuple[str, PlanStep]] = {}
        self.bodies: dict[str, str] = {}
        self.vertices: dict[str, Vertex] = {}
        self.compensations: set[str] = set()

    def add(self, code: str, message: str, step: str | None, path: str | None) -> None:
        self.problems.append(Problem(code, message, step, path))

    def index(self, plan: PlanSnapshot, max_steps: int) -> None:
        for path, s in located(plan):
            if s.key in self.steps:
                message = f"step key {s.key!r} appears twice"
                self.add("duplicate_key", message, s.key, f"{path}.key")
                continue
            if "[" in s.key or "]" in s.key:
                message = f"step key {s.key!r}: `[` and `]` are reserved"
                self.add("invalid_key", message, s.key, f"{path}.key")
            elif len(s.key) > MAX_KEY:
                message = f"step key of {len(s.key)} characters; at most {MAX_KEY}"
                self.add("invalid_key", message, s.key, f"{path}.key")
            self.steps[s.key] = (path, s)
        if len(self.steps) > max_steps:
            message = f"the plan has {len(self.steps)} steps; at most {max_steps} run"
            self.add("too_many_steps", message, None, "phases")

    def ranges(self, plan: PlanSnapshot) -> None:
        budget = plan.budget
        if budget is not None:
            cost = None if budget.max_cost is None else budget.max_cost.amount_micros
            self.past(None, "budget.max_cost.amount_micros", cost, MAX_LIMIT)
            self.past(None, "budget.max_tokens", budget.max_tokens, MAX_LIMIT)
            self.past(None, "budget.max_duration_ms", budget.max_duration_ms, MAX_DURATION_MS)
        for path, s in located(plan):
            durations = {
                "timeout_ms": s.timeout_ms,
                "retry.initial_delay_ms": s.retry.initial_delay_ms,
                "retry.max_delay_ms": s.retry.max_delay_ms,
                "wait.duration_ms": None if s.wait is None else s.wait.duration_ms,
                "approval.timeout_ms": None if s.approval is None else s.approval.timeout_ms,
                "approval.escalate_after_ms": None
                if s.approval is None
                else s.approval.escalate_after_ms,
            }
            for name, value in durations.items():
                self.past(s.key, f"{path}.{name}", value, MAX_DURATION_MS)
            cost = None if s.max_cost is None else s.max_cost.amount_micros
            self.past(s.key, f"{path}.max_cost.amount_micros", cost, MAX_LIMIT)

    def past(self, step: str | None, path: str, value: int | None, limit: int) -> None:
        if value is not None and value > limit:
            self.add("out_of_range", f"{path}: {value} is past the largest ({limit})", step, path)

    def map_bodies(self) -> None:
        steps, bodies = self.steps, self.bodies
        for path, s in steps.values():  # a map in a body is a template: checked here
            for j, key in enumerate(s.map.body if s.map is not None else []):
                where = f"{path}.map.body[{j}]"
                if key not in steps:
                    message = f"map step {s.key!r}: unknown body step {key!r}"
                    self.add("missing_dependency", message, s.key, where)
                    continue
                body_path, body = steps[key]
                if body.kind in _NOT_IN_BODY:
                    message = (
                        f"map step {s.key!r}: {key!r} is a {body.kind} step; a map body runs "
                        "plain steps"
                    )
                    self.add("invalid_container", message, s.key, where)
                elif key in bodies and bodies[key] != s.key:
                    message = f"step {key!r} is in two map bodies ({bodies[key]!r}, {s.key!r})"
                    self.add("invalid_container", message, key, where)
                bodies.setdefault(key, s.key)
                for d, dep in enumerate(body.depends_on):
                    if dep not in steps:
                        message = f"step {key!r} depends on unknown step {dep!r}"
                        where = f"{body_path}.depends_on[{d}]"
                        self.add("missing_dependency", message, key, where)
        self.compensations = {
            s.compensation for _, s in steps.values() if s.compensation is not None
        }
        self.vertices = {
            k: Vertex(k, s, path, standby=k in self.compensations)
            for k, (path, s) in steps.items()
            if k not in bodies
        }

    def known(self, owner: str, key: str, where: str) -> Vertex | None:
        if key not in self.steps:
            message = f"step {owner!r} names unknown step {key!r}"
            self.add("missing_dependency", message, owner, where)
            return None
        if key in self.bodies:
            message = f"step {owner!r} names {key!r}, a map body step"
            self.add("invalid_container", message, owner, where)
            return None
        return self.vertices[key]

    def edges(self) -> None:
        for v in self.vertices.values():
            self.depends(v)
            if v.step.condition is not None and v.step.kind == StepKind.CONDITION:
                self.branches(v)
            if v.step.parallel is not None and v.step.kind == StepKind.PARALLEL:
                self.parallel(v)
            if v.step.compensation == v.key:
                message = f"step {v.key!r} cannot be its own compensation"
                self.add("invalid_container", message, v.key, f"{v.path}.compensation")
            elif (c := v.step.compensation) is not None and c not in self.vertices:
                message = f"step {v.key!r}: unknown compensation step {c!r}"
                code = "missing_dependency" if c not in self.steps else "invalid_container"
                self.add(code, message, v.key, f"{v.path}.compensation")
        for key in sorted(self.compensations & self.vertices.keys()):
            if self.vertices[key].depends_on or self.vertices[key].gated:
                message = f"compensation step {key!r} cannot have dependencies"
                self.add("invalid_container", message, key, f"{self.vertices[key].path}.depends_on")

    def depends(self, v: Vertex) -> None:
        for d, dep in enumerate(v.step.depends_on):
            where = f"{v.path}.depends_on[{d}]"
            if dep not in self.steps:
                message = f"step {v.key!r} depends on unknown step {dep!r}"
                self.add("missing_dependency", message, v.key, where)
            elif dep in self.bodies:
                message = f"step {v.key!r} depends on {dep!r}, a map body step"
                self.add("unreachable", message, v.key, where)
            elif dep in self.compensations:
                message = (
                    f"step {v.key!r} depends on {dep!r}, a compensation: it only runs when a "
                    "run is undone"
                )
                self.add("unreachable", message, v.key, where)
            elif dep not in v.depends_on:
                v.depends_on.append(dep)

    def branches(self, v: Vertex) -> None:
        spec = v.step.condition
        assert spec is not None
        both = set(spec.if_true) & set(spec.if_false)
        for side, targets in (("if_true", spec.if_true), ("if_false", spec.if_false)):
            for j, target in enumerate(targets):
                where = f"{v.path}.condition.{side}[{j}]"
                child = self.known(v.key, target, where)
                if target in both and side == "if_false":
                    message = (
                        f"step {target!r} is in both branches of condition {v.key!r}: one of "
                        "them is always skipped"
                    )
                    self.add("unreachable", message, target, where)
                if child is not None and v.key not in child.depends_on:
                    child.depends_on.append(v.key)

    def parallel(self, v: Vertex) -> None:
        spec = v.step.parallel
        assert spec is not None
        for b, branch in enumerate(spec.branches):
            if not branch:
                message = f"parallel step {v.key!r} has an empty branch"
                self.add("invalid_container", message, v.key, f"{v.path}.parallel.branches[{b}]")
            for i, key in enumerate(branch):
                where = f"{v.path}.parallel.branches[{b}][{i}]"
                child = self.known(v.key, key, where)
                if child is None:
                    continue
                if child.parent is not None:
                    self.add("invalid_container", f"step {key!r} is in two containers", key, where)
                    continue
                child.parent = v.key
                if i == 0:
                    child.gated = True
                elif branch[i - 1] in self.vertices and branch[i - 1] not in child.depends_on:
                    child.depends_on.append(branch[i - 1])


def problems(plan: PlanSnapshot, *, max_steps: int) -> list[Problem]:
    """Every structural problem of `plan` (empty: execution can run it)."""
    return shape(plan, max_steps=max_steps).problems


def _kahn(vertices: dict[str, Vertex]) -> list[str]:
    # vertex ids: 2i is a step's start, 2i+1 its end (the same for a plain step: start ->
    # end); a dependency waits for the end, a gated child for its container's start, and a
    # container's end for its children's ends
    index = {k: i for i, k in enumerate(vertices)}
    count = 2 * len(index)
    dependents: list[list[int]] = [[] for _ in range(count)]
    waiting = [0] * count

    def edge(before: int, after: int) -> None:
        dependents[before].append(after)
        waiting[after] += 1

    for k, v in vertices.items():
        i = index[k]
        edge(2 * i, 2 * i + 1)
        for dep in v.depends_on:
            edge(2 * index[dep] + 1, 2 * i)
        if v.parent is not None:
            p = index[v.parent]
            edge(2 * i + 1, 2 * p + 1)
            if v.gated:
                edge(2 * p, 2 * i)
    frontier = [n for n in range(count) if not waiting[n]]
    keys = list(vertices)
    order: list[str] = []
    while frontier:
        n = frontier.pop()
        if n % 2:
            order.append(keys[n // 2])
        for m in dependents[n]:
            waiting[m] -= 1
            if not waiting[m]:
                frontier.append(m)
    return order
