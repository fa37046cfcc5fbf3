"""Wiring: planning's runtime, routes and consumers, and its `ServiceSpec`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from agentsuite_kit.auth import JwksKeySet
from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec
from agentsuite_planning.api import ROUTERS
from agentsuite_planning.consumers import consumers
from agentsuite_planning.deps import Deps
from agentsuite_planning.handlers import drafting
from agentsuite_planning.settings import PlanningSettings
from agentsuite_planning.uow import PlanningUow


def build(settings: PlanningSettings, *, keyset: JwksKeySet | None = None) -> FastAPI:
    """The app; `keyset` replaces the one built from `jwks_url` (tests sign their own)."""
    deps = Deps(settings)
    deps.runtime = Runtime[PlanningUow](
        settings,
        uow=PlanningUow,
        consumers=consumers(deps),
        jobs={**drafting.jobs(deps)},
        keyset=keyset,
    )
    app = deps.runtime.app(title="planning", version="1", routers=ROUTERS)
    app.state.deps = deps
    return app


def create_app() -> FastAPI:
    """The app factory `agentsuite serve` runs: settings from the environment."""
    return build(PlanningSettings())


spec = ServiceSpec(
    name="planning",
    asgi_app="agentsuite_planning.app:create_app",
    migrations=Path(__file__).parent / "migrations",
    settings=PlanningSettings,
)
