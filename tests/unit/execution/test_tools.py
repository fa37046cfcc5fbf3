"""Builtin tools, their `builtin.<name>` bindings, and the Toolbox's dispatch by kind."""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

import pytest
from pydantic import SecretStr

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.tools import BUILTINS, Call, Toolbox, ToolError, builtin_binding
from agentsuite_execution.tools import builtins as tool_builtins

DSN = SecretStr("postgresql+asyncpg://u@localhost/x")  # never connected to


def settings(**overrides: Any) -> ExecutionSettings:
    return ExecutionSettings(database_url=DSN, **overrides)


def call(binding: ToolBinding, input: Any = None, *, timeout: float = 5.0) -> Call:
    return Call(
        binding=binding,
        input=input,
        key="k-1",
        attempt=1,
        timeout=timeout,
        execution_id=uuid.uuid4(),
        step="s",
    )


def builtin(name: str) -> ToolBinding:
    binding = builtin_binding(f"builtin.{name}")
    assert binding is not None
    return binding


async def run(name: str, input: Any = None, *, seconds: float = 5.0) -> Any:
    return await Toolbox(settings()).invoke(call(builtin(name), input, timeout=seconds))


def test_builtin_binding_only_for_prefixed_known_names() -> None:
    for name in BUILTINS:
        binding = builtin_binding(f"builtin.{name}")
        assert binding == ToolBinding(kind=BindingKind.BUILTIN, target=name)
    assert builtin_binding("noop") is None  # a catalog tool may be called noop
    assert builtin_binding("builtin.nope") is None
    assert builtin_binding("builtin.") is None
    assert set(BUILTINS) == {"noop", "echo", "sleep", "fail", "merge", "template"}


def test_noop_returns_null_and_costs_next_to_nothing() -> None:
    box = Toolbox(settings())
    one = call(builtin("noop"), {"ignored": True})
    # the bench calls noop for the engine's own overhead: it must add none of its own, so it
    # completes without ever suspending (no I/O, no sleep, no session opened)
    invocation = box.invoke(one)
    with pytest.raises(StopIteration) as done:
        invocation.send(None)
    assert done.value.value is None
    assert box.session is None


async def test_echo_returns_its_input() -> None:
    value = {"a": [1, 2, {"b": None}], "c": "d"}
    assert await run("echo", value) == value
    assert await run("echo", None) is None


async def test_template_returns_value() -> None:
    assert await run("template", {"value": {"rendered": "hi"}}) == {"rendered": "hi"}
    assert await run("template", {"value": None}) is None
    with pytest.raises(ToolError) as caught:
        await run("template", {"other": 1})
    assert caught.value.code == "invalid_input"
    assert not caught.value.retryable


async def test_merge_is_shallow_and_later_keys_win() -> None:
    merged = await run("merge", [{"a": 1, "n": {"x": 1}}, {"b": 2}, {"a": 3, "n": {"y": 2}}])
    assert merged == {"a": 3, "b": 2, "n": {"y": 2}}
    assert await run("merge", []) == {}
    for bad in ({"a": 1}, [{"a": 1}, 2], None):
        with pytest.raises(ToolError) as caught:
            await run("merge", bad)
        assert caught.value.code == "invalid_input"


async def test_fail_raises_what_it_is_told() -> None:
    with pytest.raises(ToolError) as caught:
        await run("fail", {"code": "flaky", "message": "try again", "retryable": True})
    assert (caught.value.code, caught.value.message, caught.value.retryable) == (
        "flaky",
        "try again",
        True,
    )
    with pytest.raises(ToolError) as caught:
        await run("fail", {"details": {"why": "test"}})
    assert caught.value.code == "failed"
    assert not caught.value.retryable
    assert caught.value.details == {"why": "test"}
    with pytest.raises(ToolError) as caught:
        await run("fail", {"retryable": "yes"})
    assert caught.value.code == "invalid_input"


async def test_sleep_sleeps_and_is_bounded_by_the_call_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # what the tool asks the loop to wait, not a stopwatch (a loaded box stretches any wait)
    asked: list[float] = []
    real = asyncio.sleep

    async def sleep(seconds: float) -> None:
        # only the tool's own waits: the session's loop may run other tests' leftover tasks
        # that sleep too (one did, between two calls, on a loaded CI machine)
        if sys._getframe(1).f_globals.get("__name__") != tool_builtins.__name__:
            await real(seconds)
            return
        asked.append(seconds)
        await real(0)

    monkeypatch.setattr(asyncio, "sleep", sleep)  # the tool calls asyncio.sleep
    assert await run("sleep", {"ms": 30}) is None
    assert asked == [0.03]
    with pytest.raises(ToolError) as caught:
        await run("sleep", {"ms": 60_000}, seconds=0.05)
    assert caught.value.code == "timeout"
    assert caught.value.retryable
    assert asked == [0.03, 0.05]  # the call's timeout, not the minute asked for
    for bad in ({"ms": -1}, {"ms": "10"}, {"ms": True}, {}, 10):
        with pytest.raises(ToolError) as caught:
            await run("sleep", bad)
        assert caught.value.code == "invalid_input"


async def test_sleep_is_cancellable() -> None:
    task = asyncio.create_task(run("sleep", {"ms": 60_000}, seconds=120))
    await asyncio.sleep(0.01)
    task.cancel()
    # a sleep that swallowed the cancel would run its minute out (the test's timeout says so)
    with pytest.raises(asyncio.CancelledError):
        await task
    assert task.cancelled()


async def test_unknown_builtin_target_is_refused() -> None:
    binding = ToolBinding(kind=BindingKind.BUILTIN, target="rm_rf")
    with pytest.raises(ToolError) as caught:
        await Toolbox(settings()).invoke(call(binding))
    assert caught.value.code == "unknown_builtin"
    assert "rm_rf" in caught.value.message
    assert not caught.value.retryable


# `mcp` runs now (test_mcp_tool); `llm` runs as a gateway request in the step's
# transaction (engine.llm.begin_tool), never through the toolbox
@pytest.mark.parametrize("kind", ["python", "llm", "carrier_pigeon"])
async def test_other_binding_kinds_are_unsupported(kind: str) -> None:
    binding = ToolBinding(kind=kind, target="x:y")
    with pytest.raises(ToolError) as caught:
        await Toolbox(settings()).invoke(call(binding, {}))
    assert caught.value.code == "unsupported_binding"
    assert not caught.value.retryable
    assert kind in caught.value.message
    assert caught.value.details == {"kind": kind}


def test_tool_error_carries_its_parts() -> None:
    error = ToolError("c", "m")
    assert (str(error), error.retryable, error.details) == ("m", False, {})
    assert "retryable=False" in repr(error)
