"""`agent` steps: a catalog agent's loop of model turns and tool calls, one turn per
transaction, its whole state in the step's checkpoint.

Checkpoint: the agent revision and what the run takes of it (model, tools and their
`pins`, limits, the gateway prompt `prompt_ref` and its `variables`), the `messages` so
far, `turn`, `tokens` (with `prompt`, `completion`), `started`, the `pending_tool_calls`
of the last answer, `ran` (the catalog tool versions its calls ran, each with its
`calls` and `attempt`: the step's end lists this attempt's) and `generation` (a rerun
starts afresh). An answer with tool calls stores them and makes the step ready again as
the same attempt (`continue`); the worker runs them outside any transaction (`run_tools`) and `turn`
appends their results and sends the next turn. A crash resumes from the last checkpoint:
a turn sent again with the same messages and run id is answered from the gateway's cache.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from agentsuite_contracts.catalog import BindingKind
from agentsuite_contracts.common import ErrorInfo, Money
from agentsuite_contracts.llm import ChatMessage, LlmResponse, PromptRef, Role
from agentsuite_execution.domain.runs import Run, Step
from agentsuite_execution.engine import budget, ends, flow, llm, llm_answers
from agentsuite_execution.engine.catalog_tools import (
    definitions,
    function_name,
    tool_for,
    version_of,
)
from agentsuite_execution.engine.credentials import credential_of
from agentsuite_execution.engine.ctx import Ctx, StepFailure
from agentsuite_execution.engine.scope import scope_for
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools import Call, ToolError, builtin_binding
from agentsuite_execution.tools.credentials import Credential
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.expressions import render

if TYPE_CHECKING:
    from agentsuite_execution.deps import Deps

LIMIT = "agent_limit"


def over_limits(checkpoint: dict[str, Any], cost: int, now: datetime) -> str | None:
    """Why the agent may not take another turn (None: it may): turns, tokens, cost (the
    step's spend in micros) or time since it started."""
    limits = checkpoint["limits"]
    if checkpoint["turn"] >= limits["turns"]:
        return f"the agent used its {limits['turns']} turns"
    if limits["tokens"] is not None and checkpoint["tokens"] >= limits["tokens"]:
        return f"the agent used {checkpoint['tokens']} of its {limits['tokens']} tokens"
    if limits["cost"] is not None and cost >= limits["cost"]:
        return f"the agent spent {cost} of its {limits['cost']} micros"
    if limits["timeout_ms"] is not None:
        started = datetime.fromisoformat(checkpoint["started"])
        if (now - started).total_seconds() * 1000 >= limits["timeout_ms"]:
            return f"the agent ran past its {limits['timeout_ms']} ms"
    return None


def limit_error(why: str) -> ErrorInfo:
    return ErrorInfo(code=LIMIT, message=why, retryable=False)


async def start(
    settings: ExecutionSettings, uow: ExecutionUow, run: Run, step: Step
) -> dict[str, Any]:
    """The checkpoint of a first turn: the agent resolved (and recorded in the manifest),
    its instructions and the rendered task. Instructions that are a gateway prompt
    (`prompt_ref`) are no message here: every turn asks the gateway to render the prompt,
    with the step's input as its variables, before the messages."""
    spec = step.plan_step.agent
    assert spec is not None
    found = await uow.agents.resolve(spec.agent, spec.version)
    if found is None:
        version = "" if spec.version is None else f" version {spec.version}"
        raise StepFailure(
            ErrorInfo(code="unknown_agent", message=f"no agent {spec.agent!r}{version} here")
        )
    await uow.executions.manifest(
        run.execution_id,
        "agents",
        found.name,
        {"version": found.version, "agent_id": str(found.agent_id)},
    )
    scope = await scope_for(uow, run, step)
    task = llm.text_of(render(spec.task, scope))
    inputs = render(spec.input, scope)
    if inputs:
        task += "\n\nInput:\n" + json.dumps(inputs, sort_keys=True)
    agent = found.spec
    messages = [ChatMessage(role=Role.USER, content=task)]
    if agent.prompt_ref is None:
        messages.insert(0, ChatMessage(role=Role.SYSTEM, content=agent.instructions))
    pins = {pin.name: pin.version for pin in agent.tool_pins}
    limits = agent.limits
    return {
        "generation": step.generation,
        "agent": {"name": found.name, "version": found.version},
        "model": agent.model,
        "tools": [*agent.tools, *(name for name in pins if name not in agent.tools)],
        "pins": pins,
        "prompt_ref": None
        if agent.prompt_ref is None
        else agent.prompt_ref.model_dump(mode="json", exclude_none=True),
        "variables": inputs if isinstance(inputs, dict) else {},
        "limits": {
            "turns": spec.max_turns or limits.max_steps or settings.agent_max_turns,
            "tokens": limits.max_tokens,
            "cost": None if limits.max_cost is None else limits.max_cost.amount_micros,
            "timeout_ms": limits.timeout_ms,
        },
        "messages": [dump(m) for m in messages],
        "turn": 0,
        "tokens": 0,
        "prompt": 0,
        "completion": 0,
        "started": datetime.now(UTC).isoformat(),
        "pending_tool_calls": [],
    }


def dump(message: ChatMessage) -> dict[str, Any]:
    return message.model_dump(mode="json", exclude_none=True, exclude_defaults=True) | {
        "role": message.role.value
    }


async def turn(ctx: Ctx, uow: ExecutionUow, run: Run, step: Step, before: Any) -> None:
    """In the step's transaction: append the tool results `before` (if any), checkpoint,
    and send the next model turn, unless a limit is reached."""
    settings = ctx.deps.settings
    cp = dict(step.checkpoint or {})
    if cp.get("generation") != step.generation or "messages" not in cp:
        cp = await start(settings, uow, run, step)
    elif before:
        calls = [m["ran"] for m in before if m.get("ran")]
        cp["ran"] = tally(cp.get("ran") or [], calls, step.attempt)
        cp["messages"] = [
            *cp["messages"],
            *({k: v for k, v in m.items() if k != "ran"} for m in before),
        ]
        cp["pending_tool_calls"] = []
    cp.pop("continue", None)
    why = over_limits(cp, step.cost, datetime.now(UTC))
    messages = [ChatMessage.model_validate(m) for m in cp["messages"]]
    tools = await definitions(uow, run, cp["tools"], cp.get("pins"), in_loop=True)
    wanted = settings.default_max_tokens
    limits = cp["limits"]
    if why is None and limits["tokens"] is not None:
        prompt = budget.prompt_tokens(cp["model"], messages, tools)
        left = limits["tokens"] - cp["tokens"] - prompt
        if left <= 0:
            why = f"the agent's next turn does not fit its {limits['tokens']} tokens"
        wanted = min(wanted, left)
    if why is not None:
        await uow.steps.set(run.execution_id, step.key, checkpoint=cp)
        raise StepFailure(limit_error(why))
    ref = cp.get("prompt_ref")
    instructions = None if ref is None else PromptRef(**ref, variables=cp.get("variables") or {})
    ask = llm.Ask(
        model=cp["model"], messages=messages, tools=tools, max_tokens=wanted, prompt=instructions
    )
    own = (
        None
        if limits["cost"] is None
        else Money(amount_micros=limits["cost"], currency=run.currency)
    )
    cap = llm.step_cap(step, own)
    await llm.send(settings, uow, run, step, ask, checkpoint=cp, cap=cap)


async def answered(
    deps: Deps, uow: ExecutionUow, run: Run, step: Step, response: LlmResponse
) -> None:
    """A turn's answer: tool calls -> stored, the step ready for its next turn; else the
    agent's final answer. A limit reached with tools still asked for fails the step; a
    final answer is kept whatever it cost."""
    cp = dict(step.checkpoint or {})
    cp.pop("request_id", None)
    message = response.message or ChatMessage(role=Role.ASSISTANT, content="")
    usage = response.usage
    cp["messages"] = [*cp["messages"], dump(message)]
    cp["turn"] += 1
    cp["prompt"] += usage.prompt_tokens if usage is not None else 0
    cp["completion"] += usage.completion_tokens if usage is not None else 0
    cp["tokens"] = cp["prompt"] + cp["completion"]
    if message.tool_calls:
        why = over_limits(cp, step.cost, datetime.now(UTC))
        if why is not None:
            await uow.steps.set(run.execution_id, step.key, checkpoint=cp)
            await ends.fail(uow, run, step, limit_error(why))
            return
        names = {function_name(t): t for t in cp["tools"]}
        cp["pending_tool_calls"] = [
            {"id": c.id, "name": c.name, "tool": names.get(c.name), "arguments": c.arguments}
            for c in message.tool_calls
        ]
        cp["continue"] = True
        await uow.steps.set(run.execution_id, step.key, checkpoint=cp)
        await flow.make_ready(uow, run, [step.key])
        return
    await uow.steps.set(run.execution_id, step.key, checkpoint=cp)
    output = {"answer": message.content, "turns": cp["turn"], "messages": len(cp["messages"])}
    usage_total = llm_answers.usage_of(cp["prompt"], cp["completion"], step.cost, run.currency)
    await flow.succeed(uow, run, step, output, usage=usage_total)


async def run_tools(ctx: Ctx, step: Step) -> list[dict[str, Any]] | None:
    """Outside any transaction: the results of the tool calls the last turn asked for, as
    `tool` messages (a failing tool's error is its result: the model decides what next),
    each with the catalog tool version the call ran (`ran`; `turn` takes it off)."""
    cp = step.checkpoint or {}
    if not cp.get("continue"):
        return None
    out = []
    for call in cp.get("pending_tool_calls") or []:
        content, ran = await _call(ctx, step, call)
        message = {"role": Role.TOOL.value, "tool_call_id": call["id"], "content": content}
        out.append(message | ({"ran": ran} if ran else {}))
    return out


async def _call(ctx: Ctx, step: Step, call: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """The call's result, and the catalog tool version it ran (empty: none ran)."""
    tool = call.get("tool")
    if tool is None:
        return _error("unknown_tool", f"this agent has no tool {call.get('name')!r}"), {}
    try:
        arguments = json.loads(call.get("arguments") or "{}")
    except ValueError:
        return _error("invalid_arguments", "the arguments are not JSON"), {}
    settings = ctx.deps.settings
    timeout = settings.http_timeout
    binding = builtin_binding(tool)
    credential: Credential | None = None
    ran: dict[str, str] = {}
    if binding is None:
        pinned = (step.checkpoint or {}).get("pins") or {}
        async with ctx.deps.uow(step.tenant_id) as uow:
            try:
                found = await tool_for(uow, tool, pinned.get(tool))
                auth = found.spec.binding.auth
                credential = (
                    None if auth is None else await credential_of(uow, ctx.deps.secrets, auth)
                )
            except StepFailure as failure:  # sunset since the turn began, say
                return _error(failure.error.code, failure.error.message), {}
            except ToolError as exc:
                return _error(exc.code, exc.message), {}
        if found.spec.binding.kind == BindingKind.LLM:
            return _error("unsupported_binding", f"{tool} is bound as `llm`"), {}
        if found.spec.requires_approval:
            return _error("approval_required", f"{tool} needs a human's approval per call"), {}
        binding = found.spec.binding
        ran = version_of(found)
        timeout = min(timeout, found.spec.timeout_ms / 1000)
    invocation = Call(
        binding=binding,
        input=arguments,
        key=f"{step.idempotency_key}:{call['id']}",
        attempt=step.attempt,
        timeout=timeout,
        execution_id=step.execution_id,
        step=step.key,
        credential=credential,
    )
    try:
        async with asyncio.timeout(timeout):
            result = await ctx.toolbox.invoke(invocation)
    except ToolError as exc:
        return _error(exc.code, exc.message), ran
    except TimeoutError:
        return _error("timeout", f"{tool} took longer than {timeout} s"), ran
    return json.dumps(result, default=str), ran


def tally(
    ran: list[dict[str, Any]], calls: list[dict[str, Any]], attempt: int
) -> list[dict[str, Any]]:
    """`ran` (one entry per tool version and attempt, with its `calls`) counting `calls`
    of `attempt` too (a retried attempt's end counts only its own calls)."""
    out = [dict(r) for r in ran]
    for call in calls:
        key = (call["tool_version_id"], attempt)
        same = next((r for r in out if (r["tool_version_id"], r["attempt"]) == key), None)
        if same is None:
            out.append({**call, "attempt": attempt, "calls": 1})
        else:
            same["calls"] += 1
    return out


def _error(code: str, message: str) -> str:
    return json.dumps({"error": code, "message": message})
