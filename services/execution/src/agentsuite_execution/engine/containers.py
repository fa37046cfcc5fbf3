"""`parallel` and `map` steps: containers that open their children within a concurrency
limit and finish when their branches (or items) have.

A container waits (`waiting`) while its children run; its checkpoint counts what it opened
and what finished, so the container's progress survives any crash: it only ever moves in
the transaction of a child's finish.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.steps import StepKind
from agentsuite_execution.domain.graph import instances, plan_key
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import STEP_OPEN, RunStatus, StepState
from agentsuite_execution.engine import ends, flow
from agentsuite_execution.engine.ctx import StepFailure
from agentsuite_execution.uow import ExecutionUow


async def open_parallel(uow: ExecutionUow, run: Run, step: Step) -> None:
    spec = step.plan_step.parallel
    assert spec is not None
    total = len(spec.branches)
    # a rerun keeps the branches that succeeded: they count as done, never opened again
    children = {c.key: c for c in await uow.steps.children(run.execution_id, step.key)}
    kept = {
        str(i): children[b[-1]].output
        for i, b in enumerate(spec.branches)
        if b[-1] in children and children[b[-1]].state == StepState.SUCCEEDED
    }
    if kept and (len(kept) == total or spec.join == "any"):
        if spec.join == "any":
            first = min(kept, key=int)
            await flow.succeed(uow, run, step, {"branch": int(first), "output": kept[first]})
        else:
            await flow.succeed(uow, run, step, [kept.get(str(i)) for i in range(total)])
        return
    pending = [i for i in range(total) if str(i) not in kept]
    opened = min(len(pending), spec.max_concurrency or total)
    # `opened` is the next branch to open (kept ones are passed over)
    cursor = pending[opened - 1] + 1
    checkpoint = {
        "total": total,
        "opened": cursor,
        "done": len(kept),
        "ok": len(kept),
        "outputs": kept,
    }
    await flow.wait(uow, run, step, checkpoint)
    await _open(uow, run, [spec.branches[i][0] for i in pending[:opened]])


async def open_map(uow: ExecutionUow, run: Run, step: Step, items: Any, *, max_steps: int) -> None:
    spec = step.plan_step.map
    assert spec is not None
    if not isinstance(items, list):
        raise StepFailure(
            ErrorInfo(code="invalid_items", message=f"map items must be a list, not {_kind(items)}")
        )
    if spec.max_items is not None and len(items) > spec.max_items:
        raise StepFailure(
            ErrorInfo(
                code="too_many_items",
                message=f"map has {len(items)} items; max_items is {spec.max_items}",
            )
        )
    # `max_steps` bounds the run's step rows, not only its plan's: an item makes a row
    # per body step (checked before any is built: the list may be huge)
    rows = await uow.steps.count(run.execution_id) + len(items) * len(spec.body)
    if rows > max_steps:
        raise StepFailure(
            ErrorInfo(
                code="too_many_steps",
                message=f"map of {len(items)} items would make the run {rows} steps; "
                f"at most {max_steps} run (max_steps)",
            )
        )
    plan = await uow.executions.snapshot(run.execution_id)
    chains = instances(plan, step.key, items)
    nodes = [n for chain in chains for n in chain]
    if not nodes:
        await flow.succeed(uow, run, step, [])
        return
    await uow.steps.add(run.execution_id, nodes, generation=run.generation, held=False)
    await uow.executions.open_steps(run.execution_id, len(nodes))
    opened = min(len(chains), spec.max_concurrency)
    await flow.wait(uow, run, step, {"total": len(chains), "opened": opened, "done": 0})
    await _open(uow, run, [chain[0].key for chain in chains[:opened]])


async def child_done(uow: ExecutionUow, run: Run, child: Step, outcome: str) -> None:
    """A child of a container finished: count it when it ends its branch or item, open
    the next one, finish the container when all have."""
    assert child.parent is not None
    container = await uow.steps.get(run.execution_id, child.parent, lock=True)
    if container is None or container.state != StepState.WAITING:
        return
    if container.kind == StepKind.PARALLEL:
        await _parallel_child(uow, run, container, child, outcome)
    elif container.kind == StepKind.MAP:
        await _map_child(uow, run, container, child)


async def _parallel_child(
    uow: ExecutionUow, run: Run, container: Step, child: Step, outcome: str
) -> None:
    spec = container.plan_step.parallel
    assert spec is not None
    tails = [branch[-1] for branch in spec.branches]
    if child.key not in tails:
        return
    index = tails.index(child.key)
    cp = dict(container.checkpoint or {})
    cp["done"] += 1
    if outcome == "ok":
        cp["ok"] += 1
        cp["outputs"] = {**cp["outputs"], str(index): child.output}
    if spec.join == "any" and outcome == "ok":
        closed = await _close_children(uow, run, container.key)
        # a step outside the container may wait on a closed one: to it, that one skipped
        gone = {c.key for c in closed}
        for c in closed:
            outside = [d for d in c.dependents if d not in gone]
            resolved = await uow.steps.resolve(run.execution_id, outside, ok=False, failed=False)
            await flow.release(uow, run, [s for s in resolved if s.deps_left == 0])
        await uow.steps.set(run.execution_id, container.key, checkpoint=cp)
        await flow.succeed(uow, run, container, {"branch": index, "output": child.output})
        return
    following: list[str] = []
    while cp["opened"] < cp["total"] and str(cp["opened"]) in cp["outputs"]:
        cp["opened"] += 1  # kept by a rerun
    if cp["opened"] < cp["total"]:
        following.append(spec.branches[cp["opened"]][0])
        cp["opened"] += 1
    container = await uow.steps.set(run.execution_id, container.key, checkpoint=cp)
    if cp["done"] < cp["total"]:
        await _open(uow, run, following)
        return
    if spec.join == "any":
        error = ErrorInfo(
            code="no_branch_succeeded", message="no branch of the parallel step succeeded"
        )
        await ends.fail(uow, run, container, error)
        return
    outputs = [cp["outputs"].get(str(i)) for i in range(cp["total"])]
    await flow.succeed(uow, run, container, outputs)


async def _map_child(uow: ExecutionUow, run: Run, container: Step, child: Step) -> None:
    spec = container.plan_step.map
    assert spec is not None
    if plan_key(child.key) != spec.body[-1]:
        return
    cp = dict(container.checkpoint or {})
    cp["done"] += 1
    following: list[str] = []
    if cp["opened"] < cp["total"]:
        following.append(f"{spec.body[0]}[{cp['opened']}]")
        cp["opened"] += 1
    await uow.steps.set(run.execution_id, container.key, checkpoint=cp)
    if cp["done"] < cp["total"]:
        await _open(uow, run, following)
        return
    tails = [f"{spec.body[-1]}[{i}]" for i in range(cp["total"])]
    found = await uow.steps.outputs(run.execution_id, tails)
    await flow.succeed(
        uow, run, container, [found[k].output if k in found else None for k in tails]
    )


async def _open(uow: ExecutionUow, run: Run, heads: list[str]) -> None:
    """Open the gate of each head: it runs once its other dependencies are done."""
    # the gate counts as a success only for a head with no other dependency: one that
    # has them runs on them (all skipped: skipped), as any step does
    rows = await uow.steps.outputs(run.execution_id, heads)
    alone = [k for k in heads if k in rows and rows[k].deps_total == 1]
    others = [k for k in heads if k not in alone]
    resolved = await uow.steps.resolve(run.execution_id, alone, ok=True, failed=False)
    resolved += await uow.steps.resolve(run.execution_id, others, ok=False, failed=False)
    await flow.release(uow, run, [s for s in resolved if s.deps_left == 0])


async def _close_children(uow: ExecutionUow, run: Run, parent: str) -> list[Step]:
    """Cancel the open children of container `parent`, and theirs when they are
    containers (a map's items not opened yet, a nested parallel's branches would wait
    for them forever): in a loop, however deep containers nest."""
    closed_all: list[Step] = []
    containers = [parent]
    while containers:
        closed = await _close_children_of(uow, run, containers.pop())
        closed_all += closed
        containers += [c.key for c in closed if c.kind in (StepKind.PARALLEL, StepKind.MAP)]
    return closed_all


async def _close_children_of(uow: ExecutionUow, run: Run, parent: str) -> list[Step]:
    children = await uow.steps.children(run.execution_id, parent)
    open_keys = [c.key for c in children if c.state in STEP_OPEN]
    closed = await uow.steps.set_many(
        run.execution_id,
        open_keys,
        where_state=list(STEP_OPEN),
        state=StepState.CANCELLED,
        finished_at=datetime.now(UTC),
        lease_owner=None,
        lease_until=None,
    )
    await uow.executions.open_steps(run.execution_id, -len(closed))
    # an attempt under way is closed here (its worker's late finish records nothing)
    before = {c.key: c for c in children}
    for c in closed:
        if before[c.key].under_way:
            await uow.steps.finish_attempt(c, "cancelled")
    waiting = {c.key for c in closed if before[c.key].state == StepState.WAITING}
    await _close_waits(uow, run, waiting)
    return closed


async def _close_waits(uow: ExecutionUow, run: Run, keys: set[str]) -> None:
    """What cancelled waiting steps waited on: their approvals, their subplans' runs."""
    if not keys:
        return
    for key in sorted(keys):
        for approval in await uow.approvals.pending(run.execution_id, key):
            await uow.approvals.decide(approval["approval_id"], state="cancelled")
    for child in await uow.executions.children(run.execution_id):
        if child.parent_step in keys and child.status in (RunStatus.RUNNING, RunStatus.PAUSED):
            await ends.cancel(uow, child, reason="its step was cancelled")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
