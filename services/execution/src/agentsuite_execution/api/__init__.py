"""execution's HTTP edge: one router per area."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_execution.deps import Deps


def routers(deps: Deps) -> list[APIRouter]:
    return []
