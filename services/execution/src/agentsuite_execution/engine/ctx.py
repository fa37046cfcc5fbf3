"""What every step kind's code shares: the worker's context and the way a step says it
cannot go on. Low in the engine, so each kind's module imports it and none imports the
dispatch (engine.kinds) that calls them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

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
