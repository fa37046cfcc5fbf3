"""discovery's HTTP edge: one module-level router per area; routes <-> commands only."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_discovery.api import events, objectives, sessions

ROUTERS: list[APIRouter] = [objectives.routes, sessions.routes, events.routes]
