"""What every step kind's code shares: the worker's context and the way a step says it
cannot go on. Low in the engine, so each kind's module imports it and none imports the
dispatch (engine.kinds) that calls them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from agentsuite_contracts.catalog import ToolBinding
from agentsuite_contracts.common import ErrorInfo
from agentsuite_execution.deps import Deps
from agentsuite_execution.tools import Toolbox


@dataclass
class Ctx:
    """What a worker needs: the process's dependencies, its tools, its lease name, and
    how many more attempts it may start now."""

    deps: Deps
    toolbox: Toolbox
    owner: str
    free: Callable[[], int] = lambda: 0


class StepFailure(Exception):
    """A step cannot go on: fail its attempt with `error`."""

    def __init__(self, error: ErrorInfo) -> None:
        super().__init__(error.message)
        self.error = error


class LlmBound(Exception):
    """A tool step's tool is bound as `llm`: its call is a gateway request sent in the
    step's transaction (engine.llm.begin_tool), not a call outside it."""

    def __init__(self, binding: ToolBinding, input: Any, output_schema: dict[str, Any]) -> None:
        super().__init__(f"llm-bound tool {binding.target}")
        self.binding = binding
        self.input = input
        self.output_schema = output_schema
