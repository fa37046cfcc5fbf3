"""planning's HTTP edge: one module-level router per area; routes <-> commands only."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_planning.api import deliveries, drafts, labels, plans, schedules, triggers

ROUTERS: list[APIRouter] = [
    plans.routes,
    labels.routes,
    drafts.routes,
    schedules.routes,
    triggers.routes,
    deliveries.routes,
]
