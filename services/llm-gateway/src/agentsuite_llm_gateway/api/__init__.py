"""llm-gateway's edge API: the OpenAI-compatible routes first, then the admin areas."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_llm_gateway.api import budgets, openai, prompts, providers, routing, usage
from agentsuite_llm_gateway.deps import Deps


def routers(deps: Deps) -> list[APIRouter]:
    areas = (openai, providers, routing, budgets, prompts, usage)
    return [area.router(deps) for area in areas]
