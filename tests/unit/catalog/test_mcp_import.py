"""The tools an MCP server lists as drafts with `mcp` bindings (`domain/mcp.py`)."""

from __future__ import annotations

from typing import Any

import pytest

from agentsuite_catalog.domain import mcp
from agentsuite_catalog.domain.bindings import Auth, McpSpec
from agentsuite_catalog.domain.tools import spec_of
from agentsuite_contracts.catalog import AuthScheme, SideEffect

URL = "https://mcp.example.com/mcp"
LISTED: list[dict[str, Any]] = [
    {
        "name": "getForecast",
        "title": "Forecast",
        "description": "The forecast",
        "inputSchema": {"type": "object", "properties": {"city": {"type": "string"}}},
        "outputSchema": {"type": "object"},
        "annotations": {"readOnlyHint": True},
    },
    {"name": "ping", "inputSchema": {"type": "object"}},
]


def test_listed_tools_become_drafts_with_mcp_bindings() -> None:
    options = mcp.Options(URL, "0.1.0", "wx.", "weather", "wx-token")
    forecast, ping = mcp.plan(LISTED, options)
    assert forecast.name == "wx.get_forecast"
    assert forecast.draft is not None
    assert forecast.draft.binding == McpSpec(
        URL, "getForecast", Auth(AuthScheme.BEARER, "wx-token")
    )
    assert forecast.draft.side_effect == SideEffect.READ_ONLY
    assert forecast.draft.display_name == "Forecast"
    assert ping.draft is not None
    assert ping.draft.description == "ping"
    assert ping.draft.binding == McpSpec(URL, "ping", Auth(AuthScheme.BEARER, "wx-token"))
    for planned in (forecast, ping):
        assert planned.name is not None
        assert planned.draft is not None
        spec = spec_of(planned.name, planned.draft)
        assert spec.binding.kind == "mcp"


@pytest.mark.parametrize(
    ("hints", "expected"),
    [
        ({"readOnlyHint": True, "destructiveHint": True}, SideEffect.READ_ONLY),
        ({"idempotentHint": True}, SideEffect.IDEMPOTENT),
        ({"destructiveHint": True}, SideEffect.NON_IDEMPOTENT),
        ({}, None),
        (None, None),
    ],
)
def test_side_effect_from_hints(hints: Any, expected: SideEffect | None) -> None:
    assert mcp.side_effect(hints) == expected


def test_duplicate_and_missing_names_fail_their_tools_only() -> None:
    listed = [{"name": "a_b"}, {"name": "aB"}, {"title": "nameless"}, {"name": "ok"}]
    planned = mcp.plan(listed, mcp.Options(URL))
    assert [p.failure.code if p.failure else None for p in planned] == [
        "tool_name_duplicate",
        "tool_name_duplicate",
        "tool_name_missing",
        None,
    ]
    assert planned[2].failure is not None
    assert planned[2].failure.field == "tools[2]"
