"""Wiring: llm-gateway's runtime, routes, consumers, jobs and background tasks."""

from __future__ import annotations

import gc
from pathlib import Path

from fastapi import FastAPI

from agentsuite_kit.auth import JwksKeySet
from agentsuite_kit.errors import DomainError
from agentsuite_kit.http.problems import ProblemError
from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec
from agentsuite_llm_gateway.api import ROUTERS
from agentsuite_llm_gateway.api.errors import on_domain, on_problem, on_unhandled
from agentsuite_llm_gateway.api.fast import FastPath
from agentsuite_llm_gateway.consumers import consumers
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.handlers.requests import recover, worker
from agentsuite_llm_gateway.handlers.traces import ensure_partitions
from agentsuite_llm_gateway.jobs import jobs, schedule
from agentsuite_llm_gateway.settings import GatewaySettings
from agentsuite_llm_gateway.uow import GatewayUow


def build(settings: GatewaySettings, *, keyset: JwksKeySet | None = None) -> FastAPI:
    """The app; `keyset` replaces the one built from `jwks_url` (tests sign their own)."""
    deps = Deps(settings)

    async def first_start() -> None:
        await ensure_partitions(deps)
        await schedule(deps)
        await deps.catalogs.start()
        await deps.recorder.start()
        await recover(deps)
        # what startup built lives as long as the process: out of the collector's sight, a
        # full collection under load scans ~10x fewer objects (bench: p99 spikes were GC)
        gc.freeze()

    async def last_stop() -> None:
        await worker(deps).aclose()
        await deps.recorder.aclose()
        await deps.instance.aclose()  # last: its claims are answered by the next process
        await deps.catalogs.aclose()
        await deps.upstreams.aclose()

    deps.runtime = Runtime[GatewayUow](
        settings,
        uow=GatewayUow,
        consumers=consumers(deps),
        jobs=jobs(deps),
        keyset=keyset,
        startup=[first_start],
        shutdown=[last_stop],
    )
    deps.recorder.register(deps.runtime.metrics.registry)
    app = deps.runtime.app(title="llm-gateway", version="1", routers=ROUTERS)
    # outermost of the middlewares: the two hot routes skip the rest (api/fast.py)
    app.add_middleware(FastPath, deps=deps)
    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(DomainError, on_domain)
    app.add_exception_handler(Exception, on_unhandled)
    app.state.deps = deps
    return app


def create_app() -> FastAPI:
    """The app factory `agentsuite serve` runs: settings from the environment."""
    return build(GatewaySettings())


spec = ServiceSpec(
    name="llm-gateway",
    asgi_app="agentsuite_llm_gateway.app:create_app",
    migrations=Path(__file__).parent / "migrations",
    settings=GatewaySettings,
)
