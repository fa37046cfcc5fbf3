"""llm-gateway's edge API: the OpenAI-compatible routes first, then the admin areas
(module-level routers; what a route needs comes by its named dependencies, api/common.py)."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_llm_gateway.api import budgets, openai, prompts, providers, routing, usage

ROUTERS: list[APIRouter] = [
    openai.routes,
    providers.routes,
    routing.routes,
    budgets.routes,
    prompts.routes,
    usage.routes,
]
