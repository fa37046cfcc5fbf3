"""One claimed attempt of a step, by kind: the work outside any transaction (a tool call,
an agent's tool calls), then one transaction that records the outcome and moves the run.

The transaction first checks the attempt is still this worker's: a step whose lease ran
out (and was retried elsewhere) or whose run was cancelled meanwhile records nothing.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from agentsuite_contracts.catalog import BindingKind
from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.execution import StepAwaitingApproval, Trigger
from agentsuite_contracts.ids import uuid7
from agentsuite_contracts.steps import StepKind
from agentsuite_execution.domain.errors import RunError
from agentsuite_execution.domain.graph import PlanError
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.domain.states import RunStatus, StepState
from agentsuite_execution.engine import agent, containers, ends, flow, llm, local, runs
from agentsuite_execution.engine.catalog_tools import tool_for, version_of
from agentsuite_execution.engine.credentials import credential_of
from agentsuite_execution.engine.ctx import Ctx, LlmBound, StepFailure
from agentsuite_execution.engine.instant import inline
from agentsuite_execution.engine.journal import record_step
from agentsuite_execution.engine.scope import needs_scope, scope_for
from agentsuite_execution.engine.taking import Taking, taking_on
from agentsuite_execution.tools import Call, ToolError, builtin_binding
from agentsuite_execution.tools.credentials import Credential
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.expressions import ExpressionError, evaluate, render, truthy

log = logging.getLogger(__name__)

ACTIVE = (RunStatus.RUNNING, RunStatus.PAUSED, RunStatus.CANCELLING)


class NeedsApproval(Exception):
    """The tool needs a human's yes before each call: ask, and run it once granted."""

    def __init__(self, prompt: str) -> None:
        super().__init__(prompt)
        self.prompt = prompt


@dataclass(frozen=True)
class Work:
    """What an attempt's work outside any transaction came to: the tool's `output`, an
    agent's tool results (`before` its next turn), a `failure`, or an `approval` to ask."""

    output: Any = None
    before: Any = None
    failure: ErrorInfo | None = None
    approval: NeedsApproval | None = None
    llm: LlmBound | None = None


async def execute(ctx: Ctx, step: Step) -> list[Step]:
    """Run one claimed attempt of `step` and record how it went; the steps this worker
    took on in the same transaction (see `local.take_on`), to start next."""
    if inline(step):
        return await execute_local(ctx, [step])
    work = await _work(ctx, step)
    async with ctx.deps.uow(step.tenant_id) as uow:
        with taking_on(taking(ctx)) as took:
            run = await uow.executions.get(step.execution_id, lock=True)
            current = await uow.steps.get(step.execution_id, step.key, lock=True)
            if run is None or current is None or not _mine(ctx, step, current):
                return []
            try:
                await _record(ctx, uow, run, current, work)
            except (StepFailure, ExpressionError, PlanError) as exc:
                await ends.fail(uow, run, current, _failure(exc), lease_loss_limit=_losses(ctx))
            launch = await local.take_on(ctx, uow, took, {run.execution_id: run})
        await uow.commit()
    return launch


async def _work(ctx: Ctx, step: Step) -> Work:
    """The attempt's work outside any transaction: a tool's call, an agent's tool calls."""
    try:
        if step.kind == StepKind.TOOL:
            return Work(output=await _tool(ctx, step))
        if step.kind == StepKind.AGENT:
            return Work(before=await agent.run_tools(ctx, step))
    except NeedsApproval as exc:
        return Work(approval=exc)
    except LlmBound as exc:
        return Work(llm=exc)
    except ToolError as exc:
        return Work(
            failure=ErrorInfo(
                code=exc.code, message=exc.message, retryable=exc.retryable, details=exc.details
            )
        )
    except (StepFailure, ExpressionError, TimeoutError) as exc:
        return Work(failure=_failure(exc))
    return Work()


async def _record(ctx: Ctx, uow: ExecutionUow, run: Run, step: Step, work: Work) -> None:
    """In the attempt's transaction: how the work went, or the kind's move of the run."""
    if work.failure is not None:
        await ends.fail(uow, run, step, work.failure, lease_loss_limit=_losses(ctx))
    elif work.approval is not None:
        await ask_approval(uow, run, step, {}, prompt=work.approval.prompt)
    elif work.llm is not None:
        await llm.begin_tool(ctx, uow, run, step, work.llm)
    elif step.kind == StepKind.TOOL:
        await flow.succeed(uow, run, step, work.output)
    else:
        await _control(ctx, uow, run, step, work.before)


async def execute_local(ctx: Ctx, steps: list[Step]) -> list[Step]:
    """Claimed steps of one tenant whose work is an instant builtin: all of them, and what
    they make ready, in one transaction."""
    async with ctx.deps.uow(steps[0].tenant_id) as uow:
        with taking_on(taking(ctx)) as took:
            runs: dict[UUID, Run] = {}
            for step in steps:
                await local.run_one(ctx, uow, runs, step)
            launch = await local.take_on(ctx, uow, took, runs)
        await uow.commit()
    return launch


def taking(ctx: Ctx) -> Taking:
    """What this worker's transaction may take on where steps become ready."""
    s = ctx.deps.settings
    return Taking(ctx.owner, s.lease, s.local_budget)


def _mine(ctx: Ctx, claimed: Step, current: Step) -> bool:
    return (
        current.state == StepState.RUNNING
        and current.attempt == claimed.attempt
        and current.lease_owner == ctx.owner
    )


def _losses(ctx: Ctx) -> int:
    return ctx.deps.settings.lease_loss_limit


def _failure(exc: Exception) -> ErrorInfo:
    if isinstance(exc, StepFailure):
        return exc.error
    if isinstance(exc, TimeoutError):
        return ErrorInfo(code="timeout", message="the step ran past its timeout", retryable=True)
    if isinstance(exc, PlanError):
        return ErrorInfo(code="plan_not_runnable", message=str(exc))
    return ErrorInfo(code="invalid_reference", message=str(exc))


async def _tool(ctx: Ctx, step: Step) -> Any:
    spec = step.plan_step.tool
    assert spec is not None
    binding = builtin_binding(spec.tool)
    scope: dict[str, Any] = {}
    timeout_ms: int | None = step.plan_step.timeout_ms
    referencing = needs_scope(step)
    credential: Credential | None = None
    output_schema: dict[str, Any] = {}
    if binding is None or referencing:
        async with ctx.deps.uow(step.tenant_id) as uow:
            run = await uow.executions.get(step.execution_id)
            if run is None:
                raise StepFailure(ErrorInfo(code="gone", message="the execution is gone"))
            if referencing:
                scope = await scope_for(uow, run, step)
            if binding is None:
                tool = await tool_for(uow, spec.tool, spec.version)
                binding = tool.spec.binding
                output_schema = tool.spec.output_schema
                if tool.spec.requires_approval and not (step.checkpoint or {}).get("approved"):
                    raise NeedsApproval(f"Run tool {tool.name} {tool.version} (step {step.key})?")
                if binding.auth is not None:
                    credential = await credential_of(uow, ctx.deps.secrets, binding.auth)
                timeout_ms = timeout_ms or tool.spec.timeout_ms
                used = version_of(tool)
                await uow.executions.manifest(step.execution_id, "tools", tool.name, used)
                # the step's end names what THIS attempt resolved, whatever the manifest
                # recorded first (the head may have moved since another step ran it)
                ran = {**used, "generation": step.generation, "attempt": step.attempt}
                await uow.steps.set(step.execution_id, step.key, ran=ran)
                await uow.commit()
    payload = render(spec.input, scope) if scope else spec.input
    if binding.kind == BindingKind.LLM:
        raise LlmBound(binding, payload, output_schema)
    limit = ctx.deps.settings.http_timeout
    timeout = min(limit, timeout_ms / 1000) if timeout_ms else limit
    call = Call(
        binding=binding,
        input=payload,
        key=step.idempotency_key,
        attempt=step.attempt,
        timeout=timeout,
        execution_id=step.execution_id,
        step=step.key,
        credential=credential,
    )
    async with asyncio.timeout(timeout):
        return await ctx.toolbox.invoke(call)


async def _control(ctx: Ctx, uow: ExecutionUow, run: Run, step: Step, before: Any) -> None:
    """The kinds whose whole work is a move of the run (plus LLM requests, which are
    sent through the outbox of this same transaction)."""
    kind = step.kind
    if kind == StepKind.LLM:
        await llm.begin(ctx, uow, run, step)
        return
    if kind == StepKind.AGENT:
        await agent.turn(ctx, uow, run, step, before)
        return
    scope = await scope_for(uow, run, step)
    if kind == StepKind.CONDITION:
        spec = step.plan_step.condition
        assert spec is not None
        result = truthy(evaluate(spec.expression, scope))
        await flow.succeed(uow, run, step, {"result": result})
    elif kind == StepKind.WAIT:
        await _wait(uow, run, step)
    elif kind == StepKind.APPROVAL:
        await ask_approval(uow, run, step, scope)
    elif kind == StepKind.PARALLEL:
        await containers.open_parallel(uow, run, step)
    elif kind == StepKind.MAP:
        spec_map = step.plan_step.map
        assert spec_map is not None
        items = evaluate(spec_map.items, scope)
        await containers.open_map(uow, run, step, items, max_steps=ctx.deps.settings.max_steps)
    elif kind == StepKind.SUBPLAN:
        await _subplan(ctx, uow, run, step, scope)
    else:
        raise StepFailure(
            ErrorInfo(code="unsupported_kind", message=f"this engine cannot run {kind!r} steps")
        )


async def _wait(uow: ExecutionUow, run: Run, step: Step) -> None:
    spec = step.plan_step.wait
    assert spec is not None
    now = datetime.now(UTC)
    due = (
        spec.until
        if spec.until is not None
        else now + timedelta(milliseconds=spec.duration_ms or 0)
    )
    if due <= now:
        await flow.succeed(uow, run, step, None)
        return
    await _waiting(uow, run, step, {"until": due.isoformat()})
    await uow.timers.add(run.execution_id, "wait", due, key=step.key, attempt=step.attempt)


async def ask_approval(
    uow: ExecutionUow, run: Run, step: Step, scope: dict[str, Any], *, prompt: str | None = None
) -> None:
    """Open an approval request for `step` and wait on it (an `approval` step, or a tool
    whose catalog entry requires approval)."""
    spec = step.plan_step.approval
    approvers = list(spec.approvers) if spec is not None else ["role:approver"]
    text = prompt or (str(render(spec.prompt, scope)) if spec is not None else step.key)
    approval_id = uuid7()
    timeout_ms = spec.timeout_ms if spec is not None else None
    expires = None if timeout_ms is None else datetime.now(UTC) + timedelta(milliseconds=timeout_ms)
    await uow.approvals.add(
        {
            "approval_id": approval_id,
            "execution_id": run.execution_id,
            "key": step.key,
            "prompt": text,
            "approvers": approvers,
            "state": "pending",
            "expires_at": expires,
        }
    )
    await _waiting(uow, run, step, {"approval_id": str(approval_id)})
    if expires is not None:
        await uow.timers.add(
            run.execution_id,
            "approval",
            expires,
            key=step.key,
            attempt=step.attempt,
            payload={"approval_id": str(approval_id)},
        )
    escalate_after = spec.escalate_after_ms if spec is not None else None
    escalate_to = list(spec.escalate_to) if spec is not None else []
    if escalate_after and escalate_to:
        due = datetime.now(UTC) + timedelta(milliseconds=escalate_after)
        await uow.timers.add(
            run.execution_id,
            "escalate",
            due,
            key=step.key,
            attempt=step.attempt,
            payload={"approval_id": str(approval_id), "to": escalate_to},
        )
    record_step(
        uow,
        step,
        StepAwaitingApproval(
            execution_id=run.execution_id,
            step=step.key,
            approval_id=approval_id,
            prompt=text,
            approvers=approvers,
            expires_at=expires,
        ),
    )


async def _subplan(
    ctx: Ctx, uow: ExecutionUow, run: Run, step: Step, scope: dict[str, Any]
) -> None:
    spec = step.plan_step.subplan
    assert spec is not None
    plan = await uow.plans.approved(spec.plan_id, spec.plan_version)
    if plan is None:
        raise StepFailure(
            ErrorInfo(
                code="plan_not_runnable",
                message=f"plan {spec.plan_id} has no approved version"
                + (f" {spec.plan_version}" if spec.plan_version else ""),
            )
        )
    settings = ctx.deps.settings
    try:
        tree = await runs.lineage(
            uow, run, max_depth=settings.max_subplan_depth, max_runs=settings.max_runs_per_root
        )
    except RunError as exc:
        raise StepFailure(ErrorInfo(code=exc.code, message=exc.message)) from None
    inputs = render(spec.inputs, scope)
    child_id = uuid7()
    if spec.wait:
        await _waiting(uow, run, step, {"execution_id": str(child_id)})
    child, _ = await runs.create(
        uow,
        plan,
        {
            "execution_id": child_id,
            "plan_id": plan.plan_id,
            "plan_version": plan.version,
            "status": RunStatus.RUNNING,
            "trigger": Trigger.EVENT,
            "inputs": inputs,
            "labels": run.labels,
            "budget": None if plan.budget is None else plan.budget.model_dump(mode="json"),
            "plan": plan.model_dump(mode="json"),
            "manifest": {"plan": {"plan_id": str(plan.plan_id), "version": plan.version}},
            "parent_execution_id": run.execution_id,
            "parent_step": step.key if spec.wait else None,
            "created_by": run.created_by,
            **tree,
        },
        max_steps=settings.max_steps,
    )
    if not spec.wait:
        await flow.succeed(uow, run, step, {"execution_id": str(child.execution_id)})


async def _waiting(uow: ExecutionUow, run: Run, step: Step, checkpoint: dict[str, Any]) -> None:
    await flow.wait(uow, run, step, {**(step.checkpoint or {}), **checkpoint})
