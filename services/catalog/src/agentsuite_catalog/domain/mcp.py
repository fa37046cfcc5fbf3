"""The tools an MCP server lists (`tools/list`, wire form) as tool drafts with `mcp`
bindings: the server URL and the tool's own name, with an optional credential by secret
name. One tool's fault fails that tool only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from agentsuite_catalog.domain.bindings import Auth, McpSpec
from agentsuite_catalog.domain.openapi import Planned, tool_name
from agentsuite_catalog.domain.tools import MAX_DESCRIPTION, TOOL_NAME, Draft
from agentsuite_contracts.catalog import AuthScheme, SideEffect
from agentsuite_kit.errors import Invalid


@dataclass(frozen=True, slots=True)
class Options:
    url: str
    version: str = "1.0.0"
    prefix: str = ""
    category: str | None = None
    credential: str | None = None  # a tenant secret, sent as a bearer token


def side_effect(annotations: Any) -> SideEffect | None:
    """MCP's hints as a side-effect class; hints are the server's claim, absent ones unknown."""
    if not isinstance(annotations, dict):
        return None
    if annotations.get("readOnlyHint") is True:
        return SideEffect.READ_ONLY
    if annotations.get("idempotentHint") is True:
        return SideEffect.IDEMPOTENT
    if annotations.get("destructiveHint") is True:
        return SideEffect.NON_IDEMPOTENT
    return None


def _one(index: int, tool: dict[str, Any], options: Options, names: Counter[str]) -> Planned:
    raw = tool.get("name")
    where = f"tools[{index}]"
    if not isinstance(raw, str) or not raw:
        return Planned(where, None, failure=Invalid("tool_name_missing", "no name", field=where))
    name = tool_name(raw, options.prefix)
    if names[name] > 1:
        failure = Invalid(
            "tool_name_duplicate",
            f"{names[name]} listed tools map to tool name {name!r}",
            field=f"{where}.name",
        )
        return Planned(raw, name, failure=failure)
    if not TOOL_NAME.match(name):
        failure = Invalid(
            "name_invalid", f"{raw!r} gives tool name {name!r}, not a valid one", field=where
        )
        return Planned(raw, name, failure=failure)
    text = tool.get("description") or tool.get("title") or raw
    auth = None if options.credential is None else Auth(AuthScheme.BEARER, options.credential)
    draft = Draft(
        version=options.version,
        description=str(text).strip()[:MAX_DESCRIPTION] or raw,
        binding=McpSpec(options.url, raw, auth),
        input_schema=tool.get("inputSchema") or {"type": "object"},
        output_schema=tool.get("outputSchema"),
        display_name=str(tool.get("title") or raw)[:200],
        category=options.category,
        side_effect=side_effect(tool.get("annotations")),
    )
    return Planned(raw, name, draft=draft)


def plan(listed: list[dict[str, Any]], options: Options) -> list[Planned]:
    names = Counter(
        tool_name(t["name"], options.prefix) for t in listed if isinstance(t.get("name"), str)
    )
    return [_one(i, tool, options, names) for i, tool in enumerate(listed)]
