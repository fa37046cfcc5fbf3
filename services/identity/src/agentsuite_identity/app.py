"""Wiring: identity's runtime, routes, jobs and verifier, and its `ServiceSpec`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI

from agentsuite_identity.api import ROUTERS
from agentsuite_identity.auth import IdentityAuthenticator, local_keyset
from agentsuite_identity.bootstrap import bootstrap
from agentsuite_identity.changes import Changes, asyncpg_dsn
from agentsuite_identity.consumers import CONSUMERS
from agentsuite_identity.deps import Deps
from agentsuite_identity.jobs import jobs, schedule
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth.fastapi import STATE_ATTR
from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec


def build(settings: IdentitySettings) -> FastAPI:
    deps = Deps(settings)
    keyset = local_keyset(deps)
    changes = Changes(asyncpg_dsn(settings.database_url.get_secret_value()))

    async def first_start() -> None:
        await bootstrap(deps)
        await schedule(deps)
        # schedule() may have rotated an outdated signer out: verify the new key's tokens
        # at once rather than after the keyset's refetch throttle
        await keyset.refresh()
        await changes.start()
        deps.access.changes = changes

    deps.runtime = Runtime[IdentityUow](
        settings,
        uow=IdentityUow,
        consumers=CONSUMERS,
        jobs=jobs(deps),
        keyset=keyset,
        startup=[first_start],
        shutdown=[changes.aclose],
    )
    # the kit's app answers a DomainError that no route turned into a problem itself
    app = deps.runtime.app(title="identity", version="1", routers=ROUTERS)
    # identity's own routes also refuse a suspended tenant's or deactivated user's token
    setattr(app.state, STATE_ATTR, IdentityAuthenticator(keyset, deps))
    app.state.deps = deps
    return app


def create_app() -> FastAPI:
    """The app factory `agentsuite serve` runs: settings from the environment."""
    return build(IdentitySettings())


spec = ServiceSpec(
    name="identity",
    asgi_app="agentsuite_identity.app:create_app",
    migrations=Path(__file__).parent / "migrations",
    settings=IdentitySettings,
)
