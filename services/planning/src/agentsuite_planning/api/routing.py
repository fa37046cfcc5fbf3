"""The one way planning's routers are made: under /v1, body-limited."""

from fastapi import APIRouter

from agentsuite_planning.api.edge import Bounded


def router(tag: str) -> APIRouter:
    return APIRouter(prefix="/v1", tags=[tag], route_class=Bounded)
