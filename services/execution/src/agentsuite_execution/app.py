"""Wiring: execution's runtime, routes, consumers and its engine."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from agentsuite_execution.api import ROUTERS
from agentsuite_execution.consumers import consumers
from agentsuite_execution.deps import Deps
from agentsuite_execution.engine.workers import Engine
from agentsuite_execution.handlers import secrets
from agentsuite_execution.handlers.responses import llm_jobs
from agentsuite_execution.settings import ExecutionSettings
from agentsuite_execution.uow import ExecutionUow
from agentsuite_kit.auth import JwksKeySet
from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec


def build(settings: ExecutionSettings, *, keyset: JwksKeySet | None = None) -> FastAPI:
    """The app; `keyset` replaces the one built from `jwks_url` (tests sign their own)."""
    deps = Deps(settings)
    engine = Engine(deps)

    async def first_start() -> None:
        await secrets.schedule_reencrypt(deps)
        await engine.start()

    async def last_stop() -> None:
        await engine.stop()

    deps.runtime = Runtime[ExecutionUow](
        settings,
        uow=ExecutionUow,
        consumers=consumers(deps),
        jobs={**llm_jobs(deps), **secrets.jobs(deps)},
        keyset=keyset,
        startup=[first_start],
        shutdown=[last_stop],
    )
    app = deps.runtime.app(title="execution", version="1", routers=ROUTERS)
    app.state.deps = deps
    app.state.engine = engine
    return app


def create_app() -> FastAPI:
    """The app factory `agentsuite serve` runs: settings from the environment."""
    return build(ExecutionSettings())


spec = ServiceSpec(
    name="execution",
    asgi_app="agentsuite_execution.app:create_app",
    migrations=Path(__file__).parent / "migrations",
    settings=ExecutionSettings,
)
