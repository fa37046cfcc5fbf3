"""Steps run where they became ready: the engine's fast path.

A transaction that makes steps ready takes them on for its worker before it commits,
instead of leaving them to the next claim round trip: a chain moves step to step without
waiting on the claim loop or a notification. Those that are instant builtins (`noop`,
`echo`, `template`, `merge`, `fail`: pure functions of their input, no I/O) run right
there, in the same transaction - an attempt that cannot be half done, so it needs no lease
to survive a crash: it commits with its outcome or not at all. Others are leased and
started as their own attempts, within the worker's free slots.

Everything a step does elsewhere still happens: its attempt row, `execution.step.started`
and `.succeeded` (or failed) events through the outbox, log rows, dependants released.
`local_budget` bounds how many steps one transaction runs, so a long chain of builtins
commits in pieces and the claim loop's fairness across tenants keeps its say.
"""

from __future__ import annotations

from uuid import UUID

from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.execution import StepStarted
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import StepState
from agentsuite_execution.engine import ends, flow
from agentsuite_execution.engine.ctx import Ctx
from agentsuite_execution.engine.instant import INSTANT_TOOLS, inline
from agentsuite_execution.engine.journal import record_step
from agentsuite_execution.engine.scope import needs_scope, scope_for
from agentsuite_execution.engine.taking import Taking
from agentsuite_execution.tools import BUILTINS, Call, ToolError, builtin_binding
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.expressions import ExpressionError, render


async def run_one(
    ctx: Ctx, uow: ExecutionUow, runs: dict[UUID, Run], step: Step, *, fresh: bool = False
) -> None:
    """Run the claimed instant builtin `step` in this transaction and record its outcome
    (`fresh`: leased in this very transaction, so the row is locked and current)."""
    run = runs.get(step.execution_id)
    if run is None:
        run = await uow.executions.get(step.execution_id, lock=True)
        if run is None:
            return
        runs[step.execution_id] = run
    current = step if fresh else await uow.steps.get(step.execution_id, step.key, lock=True)
    if (
        current is None
        or current.state != StepState.RUNNING
        or current.attempt != step.attempt
        or current.lease_owner != ctx.owner
    ):
        return
    spec = current.plan_step.tool
    assert spec is not None
    binding = builtin_binding(spec.tool)
    assert binding is not None
    try:
        payload = (
            render(spec.input, await scope_for(uow, run, current))
            if needs_scope(current)
            else spec.input
        )
        call = Call(
            binding=binding,
            input=payload,
            key=current.idempotency_key,
            attempt=current.attempt,
            timeout=ctx.deps.settings.http_timeout,
            execution_id=current.execution_id,
            step=current.key,
        )
        output = await BUILTINS[binding.target](payload, call)
    except ToolError as exc:
        error = ErrorInfo(
            code=exc.code, message=exc.message, retryable=exc.retryable, details=exc.details
        )
        await ends.fail(uow, run, current, error, lease_loss_limit=1)
    except ExpressionError as exc:
        error = ErrorInfo(code="invalid_reference", message=str(exc))
        await ends.fail(uow, run, current, error, lease_loss_limit=1)
    else:
        await flow.succeed(uow, run, current, output)


async def take_on(ctx: Ctx, uow: ExecutionUow, taking: Taking, runs: dict[UUID, Run]) -> list[Step]:
    """Take on the steps this transaction made ready (`taking`): run the instant ones here
    (and what they make ready, up to the budget), lease the others for this worker's free
    slots. Ends every run touched that has nothing left open. The leased steps, to start."""
    budget = ctx.deps.settings.local_budget
    lease = ctx.deps.settings.lease
    launch: list[Step] = []
    done = 0
    # steps already leased here (`taking.taken`) always run; more are taken up to the budget
    while taking.taken or (taking.readied and done < budget):
        # instant builtins released by this transaction, leased already (flow.release)
        taken, taking.taken = taking.taken, []
        wanted, taking.readied = taking.readied, []
        # the instant ones always (they need no slot), the others as far as slots are free
        taken += await uow.steps.claim_keys(
            wanted, owner=ctx.owner, lease=lease, limit=budget - done, tools=INSTANT_TOOLS
        )  # limit <= 0 claims nothing: readied steps stay ready for the claim loop
        slots = ctx.free() - len(launch)
        rest = [k for k in wanted if k not in {(t.execution_id, t.key) for t in taken}]
        if slots > 0 and rest:
            taken += await uow.steps.claim_keys(rest, owner=ctx.owner, lease=lease, limit=slots)
        await started(uow, taken, ctx.owner)
        for step in taken:
            if inline(step):
                await run_one(ctx, uow, runs, step, fresh=True)
                done += 1
            else:
                launch.append(step)
    for execution_id in list(runs):
        await ends.conclude(uow, execution_id)
    return launch


async def started(uow: ExecutionUow, steps: list[Step], owner: str) -> None:
    """Attempt rows and `execution.step.started` events of freshly leased steps (an
    instant builtin's row is written once, when it ends: `Steps.finish_attempt`)."""
    await uow.steps.start_attempts([s for s in steps if not inline(s)], owner)
    for step in steps:
        if (step.checkpoint or {}).get("continue"):
            continue  # an agent's next turn, same attempt
        record_step(
            uow,
            step,
            StepStarted(
                execution_id=step.execution_id,
                step=step.key,
                kind=step.kind,
                attempt=step.attempt,
            ),
        )
