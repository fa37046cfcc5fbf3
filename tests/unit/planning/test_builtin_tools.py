"""execution's builtin tools (`builtin.<name>`) run without a catalog entry, so planning
must neither refuse them as unknown nor try to pin a catalog version for them; a
`builtin.` name execution does not ship stays an unknown tool."""

from __future__ import annotations

from agentsuite_execution.tools import BUILTINS
from agentsuite_kit.plans import BUILTIN_TOOLS
from agentsuite_planning.domain.lookup import Lookup
from agentsuite_planning.domain.pinning import pin
from agentsuite_planning.domain.validation import validate
from tests.unit.planning.builders import plan, tool


def test_a_builtin_tool_validates_and_pins_without_a_catalog_entry() -> None:
    p = plan(tool("a", name="builtin.echo", input={"x": 1}), tool("b", "a", name="builtin.noop"))
    assert [(i.code, i.path) for i in validate(p, Lookup())] == []
    pinned = pin(p, Lookup())
    assert [s.tool.version for s in pinned.phases[0].steps if s.tool] == [None, None]


def test_a_builtin_execution_does_not_ship_is_an_unknown_tool() -> None:
    p = plan(tool("a", name="builtin.teleport", input={}))
    assert [(i.code, i.path) for i in validate(p, Lookup())] == [
        ("unknown_tool", "phases[0].steps[0].tool.tool")
    ]


def test_the_kit_names_exactly_the_builtins_execution_ships() -> None:
    assert {f"builtin.{name}" for name in BUILTINS} == BUILTIN_TOOLS
