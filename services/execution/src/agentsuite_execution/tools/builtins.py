"""Tools that ship with execution (binding kind `builtin`, target = name). A plan names
them `builtin.<name>` without a catalog entry. They stay small: they exist so plans can be
tested and glued together, not to grow a standard library."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from agentsuite_contracts.catalog import BindingKind, ToolBinding
from agentsuite_execution.tools.calls import Builtin, Call, ToolError

PREFIX = "builtin."


def invalid(name: str, expected: str, got: Any) -> ToolError:
    return ToolError(
        "invalid_input",
        f"builtin.{name} expects {expected}, got {type(got).__name__}",
        details={"tool": f"builtin.{name}"},
    )


async def noop(_input: Any, _call: Call) -> None:
    return None


async def echo(input: Any, _call: Call) -> Any:
    return input


async def sleep(input: Any, call: Call) -> None:
    ms = input.get("ms") if isinstance(input, dict) else None
    if not isinstance(ms, int | float) or isinstance(ms, bool) or ms < 0:
        raise invalid("sleep", 'an object {"ms": <milliseconds >= 0>}', input)
    seconds = ms / 1000
    if seconds > call.timeout:
        # a sleep longer than its step's timeout behaves as a slow tool would: it times out
        await asyncio.sleep(call.timeout)
        raise ToolError(
            "timeout",
            f"builtin.sleep of {ms} ms is over the call's {call.timeout} s timeout",
            retryable=True,
        )
    await asyncio.sleep(seconds)


async def fail(input: Any, _call: Call) -> None:
    spec = input if isinstance(input, dict) else {}
    code = spec.get("code", "failed")
    message = spec.get("message", "builtin.fail was asked to fail")
    retryable = spec.get("retryable", False)
    details = spec.get("details")
    if (
        not isinstance(code, str)
        or not isinstance(message, str)
        or not isinstance(retryable, bool)
        or not isinstance(details, dict | None)
    ):
        raise invalid(
            "fail", '{"code": str, "message": str, "retryable": bool, "details": {...}}', input
        )
    raise ToolError(code, message, retryable=retryable, details=details)


async def merge(input: Any, _call: Call) -> dict[str, Any]:
    if not isinstance(input, list) or not all(isinstance(item, dict) for item in input):
        raise invalid("merge", "a list of objects", input)
    merged: dict[str, Any] = {}
    for item in input:  # shallow, left to right: a later object's key wins
        merged.update(item)
    return merged


async def template(input: Any, _call: Call) -> Any:
    if not isinstance(input, dict) or "value" not in input:
        raise invalid("template", 'an object {"value": ...}', input)
    return input["value"]


BUILTINS: Mapping[str, Builtin] = MappingProxyType(
    {
        "noop": noop,
        "echo": echo,
        "sleep": sleep,
        "fail": fail,
        "merge": merge,
        "template": template,
    }
)
BINDINGS: Mapping[str, ToolBinding] = MappingProxyType(
    {PREFIX + name: ToolBinding(kind=BindingKind.BUILTIN, target=name) for name in BUILTINS}
)


def builtin_binding(name: str) -> ToolBinding | None:
    """The binding of tool `name` when it is `builtin.<one of BUILTINS>`, else None (the
    catalog decides)."""
    return BINDINGS.get(name)
