"""Routes of the service_accounts area."""

from __future__ import annotations

from fastapi import APIRouter

from agentsuite_identity.deps import Deps


def router(deps: Deps) -> APIRouter:
    return APIRouter(prefix="/v1")
