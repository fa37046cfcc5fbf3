"""The revocation list the kit's verifiers poll (`agentsuite_kit.auth.revocations`): the
principals whose still-unexpired tokens other services must refuse."""

import asyncio
import time
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response

from agentsuite_identity.api.common import AppDeps, Bounded
from agentsuite_identity.deps import Deps
from agentsuite_kit.auth import Principal
from agentsuite_kit.auth.principal import PrincipalKind
from agentsuite_kit.edge import gate
from agentsuite_kit.http.problems import ProblemError

LIMIT = 100_000
"""Entries at most: disabling this many principals within one token life is an incident
of its own, and the newest are the ones listed."""

FRESH_FOR = 1.0
"""Seconds one snapshot answers every reader: each service process polls every few
seconds, so without it the query runs once per poll of every process. One second adds at
most that to the bound a service states for refusing a disabled principal."""

# No `from __future__ import annotations`: FastAPI must resolve the dependencies the
# route signature names.

_READERS = frozenset({PrincipalKind.SERVICE, PrincipalKind.PLATFORM})


class Snapshot:
    """The list as last read, shared by the requests of one process; concurrent misses
    wait for one query instead of each running it."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self._body: dict[str, Any] | None = None
        self._until = 0.0
        self._lock = asyncio.Lock()

    async def get(self) -> dict[str, Any]:
        if self._body is not None and time.monotonic() < self._until:
            return self._body
        async with self._lock:
            if self._body is not None and time.monotonic() < self._until:
                return self._body
            s = self.deps.settings
            horizon = max(s.access_token_ttl, s.api_key_token_ttl) + s.token_leeway
            async with self.deps.runtime.uow(None, all_tenants=True) as uow:
                subjects = await uow.revocations.recent(horizon, LIMIT)
            self._body = {"subjects": subjects, "horizon": horizon}
            self._until = time.monotonic() + FRESH_FOR
            return self._body


def _snapshot(request: Request, deps: Deps) -> Snapshot:
    """The app's one snapshot (each app of a process has its own database)."""
    found: Snapshot | None = getattr(request.app.state, "revocations", None)
    if found is None or found.deps is not deps:
        found = request.app.state.revocations = Snapshot(deps)
    return found


Reader = Annotated[Principal, gate(platform=True)]

routes = APIRouter(prefix="/v1", tags=["discovery"], route_class=Bounded)


@routes.get("/revocations", summary="Principals whose unexpired tokens must be refused")
async def revocations(
    principal: Reader, request: Request, response: Response, deps: AppDeps
) -> dict[str, Any]:
    """For tenantless service (and platform) principals only: the list names every
    tenant's disabled service accounts, deactivated users (and their API keys) and
    revoked API keys, each while a token issued before its change may live. Verifiers
    refuse every token of a listed subject: none of them can get a new one."""
    if principal.tenant_id is not None or principal.kind not in _READERS:
        # a tenant's token must not learn of other tenants' principals
        raise ProblemError(
            403,
            "The revocation list is for the platform's own services.",
            code="service_only",
        )
    body = await _snapshot(request, deps).get()
    response.headers["Cache-Control"] = "private, max-age=1"
    return body
