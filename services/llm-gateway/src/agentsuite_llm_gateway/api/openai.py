"""openai routes."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_llm_gateway.deps import Deps


def router(deps: Deps) -> APIRouter:
    return APIRouter()
