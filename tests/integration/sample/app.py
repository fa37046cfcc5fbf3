"""Wiring: the sample's runtime, routes and consumers, and its `ServiceSpec`.

`agentsuite serve tests.integration.sample.app:spec` runs it like an installed service:
migrate as the owner (when a migration URL is set), then serve the app factory.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec
from tests.integration.sample.api import router
from tests.integration.sample.consumers import consumers
from tests.integration.sample.settings import SampleSettings
from tests.integration.sample.uow import SampleUow


def build(settings: SampleSettings) -> FastAPI:
    runtime = Runtime[SampleUow](settings, uow=SampleUow, consumers=consumers(settings))
    return runtime.app(title="sample", version="1", routers=[router(runtime, settings.notes_topic)])


def create_app() -> FastAPI:
    """The app factory `agentsuite serve` runs: settings from the environment."""
    return build(SampleSettings())


spec = ServiceSpec(
    name="sample",
    asgi_app="tests.integration.sample.app:create_app",
    migrations=Path(__file__).parent / "migrations",
    settings=SampleSettings,
)
