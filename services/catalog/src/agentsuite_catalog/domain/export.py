"""A tool version in other ecosystems' terms: an OpenAI function tool definition (Chat
Completions' `tools[]` entry) and an MCP tool description (what `tools/list` answers).

Only what a caller needs to call the tool goes out: the binding (URLs, secret names) stays
in catalog.
"""

from __future__ import annotations

import re
from typing import Any

from agentsuite_contracts.catalog import SideEffect, ToolSpec

OPENAI_NAME = re.compile(r"[^A-Za-z0-9_-]")
MAX_OPENAI_NAME = 64  # OpenAI's bound on a function name


def openai_name(name: str) -> str:
    """A tool name in OpenAI's alphabet (letters, digits, _ and -, at most 64)."""
    return OPENAI_NAME.sub("_", name)[:MAX_OPENAI_NAME]


def openai_tool(spec: ToolSpec) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": openai_name(spec.name),
            "description": spec.description,
            "parameters": spec.input_schema,
        },
    }


def mcp_tool(spec: ToolSpec) -> dict[str, Any]:
    """MCP's `Tool`: the input schema as `inputSchema`, the output schema when it describes
    an object (MCP's `outputSchema` must), the side-effect class as annotation hints."""
    read_only = spec.side_effect == SideEffect.READ_ONLY
    annotations: dict[str, Any] = {"title": spec.display_name, "readOnlyHint": read_only}
    if spec.side_effect is not None and not read_only:
        annotations["idempotentHint"] = spec.side_effect == SideEffect.IDEMPOTENT
        annotations["destructiveHint"] = spec.side_effect == SideEffect.NON_IDEMPOTENT
    described: dict[str, Any] = {
        "name": spec.name,
        "title": spec.display_name,
        "description": spec.description,
        "inputSchema": spec.input_schema,
        "annotations": annotations,
    }
    if spec.output_schema.get("type") == "object":
        described["outputSchema"] = spec.output_schema
    return described
