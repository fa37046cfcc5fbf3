"""Wiring: catalog's runtime, routes and consumers, and its `ServiceSpec`."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from fastapi import FastAPI

from agentsuite_catalog.api import ROUTERS
from agentsuite_catalog.consumers import consumers
from agentsuite_catalog.deps import Deps
from agentsuite_catalog.handlers.tenants import RETIRE, retire_job
from agentsuite_catalog.settings import CatalogSettings
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.auth import JwksKeySet
from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec


def build(settings: CatalogSettings, *, keyset: JwksKeySet | None = None) -> FastAPI:
    """The app; `keyset` replaces the one built from `jwks_url` (tests sign their own)."""
    deps = Deps(settings)
    deps.runtime = Runtime[CatalogUow](
        settings,
        uow=CatalogUow,
        consumers=consumers(deps),
        jobs={RETIRE: partial(retire_job, deps=deps)},
        keyset=keyset,
    )
    app = deps.runtime.app(title="catalog", version="1", routers=ROUTERS)
    app.state.deps = deps
    return app


def create_app() -> FastAPI:
    """The app factory `agentsuite serve` runs: settings from the environment."""
    return build(CatalogSettings())


spec = ServiceSpec(
    name="catalog",
    asgi_app="agentsuite_catalog.app:create_app",
    migrations=Path(__file__).parent / "migrations",
    settings=CatalogSettings,
)
