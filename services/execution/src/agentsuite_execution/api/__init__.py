"""execution's HTTP edge: one router per area."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_execution.api import control, events, executions
from agentsuite_execution.deps import Deps


def routers(deps: Deps) -> list[APIRouter]:
    return [area.router(deps) for area in (executions, control, events)]
