"""Wiring: identity's runtime, routes, jobs and verifier, and its `ServiceSpec`."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response

from agentsuite_identity.api import routers
from agentsuite_identity.api.common import as_problem
from agentsuite_identity.auth import IdentityAuthenticator, local_keyset
from agentsuite_identity.bootstrap import bootstrap
from agentsuite_identity.changes import Changes, asyncpg_dsn
from agentsuite_identity.consumers import CONSUMERS
from agentsuite_identity.deps import Deps
from agentsuite_identity.domain.errors import DomainError
from agentsuite_identity.jobs import jobs, schedule
from agentsuite_identity.settings import IdentitySettings
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth.fastapi import STATE_ATTR
from agentsuite_kit.http.problems import problem_response
from agentsuite_kit.runtime import Runtime
from agentsuite_kit.service import ServiceSpec


async def _domain_problem(request: Request, exc: Exception) -> Response:
    """A rule's refusal that no route translated itself: the same body the routes give."""
    assert isinstance(exc, DomainError)
    problem = as_problem(exc)
    return problem_response(problem.problem, problem.headers)


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
    app = deps.runtime.app(title="identity", version="1", routers=routers(deps))
    app.add_exception_handler(DomainError, _domain_problem)
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
