"""catalog's HTTP edge: one module-level router per area; routes <-> commands only."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_catalog.api import agents, imports, search, task_groups, tasks, templates, tools

ROUTERS: list[APIRouter] = [
    imports.router,
    tools.router,
    agents.router,
    task_groups.router,
    tasks.router,
    templates.router,
    search.router,
]
