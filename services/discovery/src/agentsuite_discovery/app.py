"""Wiring: discovery's runtime, routes and consumers, and its `ServiceSpec`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from agentsuite_discovery.api import ROUTERS
from agentsuite_discovery.consumers import consumers
from agentsuite_discovery.deps import Deps
from agentsuite_discovery.handlers import llm
from agentsuite_discovery.settings import DiscoverySettings
from agentsuite_discovery.uow import DiscoveryUow
from agentsuite_kit.auth import JwksKeySet
from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec


def build(settings: DiscoverySettings, *, keyset: JwksKeySet | None = None) -> FastAPI:
    """The app; `keyset` replaces the one built from `jwks_url` (tests sign their own)."""
    deps = Deps(settings)
    deps.runtime = Runtime[DiscoveryUow](
        settings,
        uow=DiscoveryUow,
        consumers=consumers(deps),
        jobs=llm.jobs(deps),
        keyset=keyset,
    )
    app = deps.runtime.app(title="discovery", version="1", routers=ROUTERS)
    app.state.deps = deps
    return app


def create_app() -> FastAPI:
    """The app factory `agentsuite serve` runs: settings from the environment."""
    return build(DiscoverySettings())


spec = ServiceSpec(
    name="discovery",
    asgi_app="agentsuite_discovery.app:create_app",
    migrations=Path(__file__).parent / "migrations",
    settings=DiscoverySettings,
)
