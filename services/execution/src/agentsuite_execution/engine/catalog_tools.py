"""Catalog tools as steps use them: one name (and a pinned version, or the head) resolved
to the published version that runs, with a step error that says why none does; and the
model's view of an `llm` step's or an agent's tools.

Unknown, pinned to a version this projection does not know, and past a sunset (the
tool's or the version's, whether named by a pin or as the head) are three different
errors: a plan author fixes each differently."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime

from agentsuite_contracts.catalog import BindingKind
from agentsuite_contracts.common import ErrorInfo
from agentsuite_contracts.llm import ToolDefinition
from agentsuite_execution.domain.catalog import ToolRecord
from agentsuite_execution.domain.runs import Run
from agentsuite_execution.engine.ctx import StepFailure
from agentsuite_execution.tools import BUILTINS
from agentsuite_execution.tools.builtins import PREFIX
from agentsuite_execution.uow import ExecutionUow

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


def function_name(name: str) -> str:
    """A tool's name as a model function name (`[A-Za-z0-9_-]`, as providers require)."""
    return _UNSAFE.sub("_", name)[:64]


def is_builtin(name: str) -> bool:
    return name.startswith(PREFIX) and name[len(PREFIX) :] in BUILTINS


async def tool_for(uow: ExecutionUow, name: str, version: str | None) -> ToolRecord:
    """Version `version` of tool `name` (None: the head) as it may run now; StepFailure
    `unknown_tool`, `unknown_tool_version` or `tool_sunset` otherwise."""
    found = await uow.tools.find(name, version)
    if found is None:
        if version is not None and await uow.tools.find(name, None) is not None:
            raise StepFailure(
                ErrorInfo(
                    code="unknown_tool_version",
                    message=f"tool {name!r} has no published version {version!r} here",
                    details={"tool": name, "version": version},
                )
            )
        suffix = "" if version is None else f" version {version}"
        raise StepFailure(
            ErrorInfo(
                code="unknown_tool",
                message=f"no published tool {name!r}{suffix}",
                details={"tool": name, "version": version},
            )
        )
    since = found.sunset_since(datetime.now(UTC))
    if since is not None:
        raise StepFailure(
            ErrorInfo(
                code="tool_sunset",
                message=f"tool {name!r} version {found.version} is deprecated and was sunset "
                f"at {since.isoformat()}",
                details={"tool": name, "version": found.version, "sunset_at": since.isoformat()},
            )
        )
    return found


def version_of(tool: ToolRecord) -> dict[str, str]:
    """A resolved version as the manifest and a step's `ran` record it."""
    return {
        "tool": tool.name,
        "tool_id": str(tool.tool_id),
        "tool_version_id": str(tool.tool_version_id),
        "version": tool.version,
    }


async def definitions(
    uow: ExecutionUow,
    run: Run,
    names: list[str],
    pins: Mapping[str, str | None] | None = None,
    *,
    in_loop: bool = False,
) -> list[ToolDefinition]:
    """The model's view of tools `names`: builtins by name, others from the catalog at
    their pinned version or head (recorded in the manifest). In an agent's loop
    (`in_loop`) a tool bound as `llm` is refused: its call would be a gateway request of
    its own, which the loop's tool calls (run outside any transaction) cannot wait for."""
    pins = pins or {}
    out = []
    for name in names:
        if is_builtin(name):
            out.append(
                ToolDefinition(
                    name=function_name(name),
                    description=f"the builtin tool {name}",
                    parameters={"type": "object"},
                )
            )
            continue
        tool = await tool_for(uow, name, pins.get(name))
        if in_loop and tool.spec.binding.kind == BindingKind.LLM:
            raise StepFailure(
                ErrorInfo(
                    code="unsupported_binding",
                    message=f"tool {name!r} is bound as `llm`: an agent cannot call it in its "
                    "loop (use it as a tool step)",
                    details={"tool": name, "binding": BindingKind.LLM.value},
                )
            )
        await uow.executions.manifest(run.execution_id, "tools", tool.name, version_of(tool))
        out.append(
            ToolDefinition(
                name=function_name(name),
                description=tool.spec.description,
                parameters=tool.spec.input_schema,
            )
        )
    return out
