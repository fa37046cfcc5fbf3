"""A tool version as an OpenAI function definition and as an MCP tool description."""

from __future__ import annotations

from typing import Any

import mcp.types
import pytest

from agentsuite_catalog.domain.bindings import Auth, HttpSpec
from agentsuite_catalog.domain.export import mcp_tool, openai_name, openai_tool
from agentsuite_catalog.domain.tools import Draft, spec_of
from agentsuite_contracts.catalog import AuthScheme, SideEffect, ToolSpec

INPUT = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


def spec(
    name: str = "web.search", side_effect: SideEffect | None = None, output: Any = None
) -> ToolSpec:
    draft = Draft(
        version="1.2.0",
        description="Search the web",
        binding=HttpSpec(
            "https://api.example.com/s", "GET", {}, Auth(AuthScheme.BEARER, "search-token")
        ),
        input_schema=INPUT,
        output_schema=output,
        display_name="Web search",
        side_effect=side_effect,
    )
    return spec_of(name, draft)


def test_openai_function_definition() -> None:
    assert openai_tool(spec()) == {
        "type": "function",
        "function": {"name": "web_search", "description": "Search the web", "parameters": INPUT},
    }


def test_openai_name_alphabet_and_length() -> None:
    assert openai_name("a.b:c/d-e_f") == "a_b_c_d-e_f"
    assert len(openai_name("x" * 128)) == 64


@pytest.mark.parametrize(
    ("side_effect", "hints"),
    [
        (SideEffect.READ_ONLY, {"readOnlyHint": True}),
        (
            SideEffect.IDEMPOTENT,
            {"readOnlyHint": False, "idempotentHint": True, "destructiveHint": False},
        ),
        (
            SideEffect.NON_IDEMPOTENT,
            {"readOnlyHint": False, "idempotentHint": False, "destructiveHint": True},
        ),
        (None, {"readOnlyHint": False}),
    ],
)
def test_mcp_description_is_a_valid_mcp_tool(
    side_effect: SideEffect | None, hints: dict[str, bool]
) -> None:
    output = {"type": "object", "properties": {"hits": {"type": "array"}}}
    described = mcp_tool(spec(side_effect=side_effect, output=output))
    assert described["annotations"] == {"title": "Web search", **hints}
    tool = mcp.types.Tool.model_validate(described)  # the SDK's own model accepts it
    assert tool.name == "web.search"
    assert tool.input_schema == INPUT
    assert tool.output_schema == output


def test_mcp_output_schema_only_when_an_object() -> None:
    assert "outputSchema" not in mcp_tool(spec(output={"type": "string"}))
    assert "outputSchema" not in mcp_tool(spec())


def test_no_binding_or_secret_name_goes_out() -> None:
    for exported in (openai_tool(spec()), mcp_tool(spec())):
        text = repr(exported)
        assert "search-token" not in text
        assert "api.example.com" not in text
