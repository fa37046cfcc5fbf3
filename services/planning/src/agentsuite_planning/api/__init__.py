"""planning's HTTP edge: one module-level router per area; routes <-> commands only."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_planning.api import drafts, labels, plans, schedules

ROUTERS: list[APIRouter] = [plans.routes, labels.routes, drafts.routes, schedules.routes]
