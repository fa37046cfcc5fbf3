"""The gateway's named dependencies, on the kit's edge (agentsuite_kit.edge): its `Deps`
(what `build()` put on `app.state`) and the caller's tenant's unit of work.

A refusal raised in a route (a `DomainError`) leaves the unit of work as the kit's
problem+json (`problems`); one raised outside it goes to the app's handler (api/errors.py
`on_domain`), which answers the same on these routes and OpenAI's error on the OpenAI ones.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from agentsuite_kit.edge import app_state, bounded, uow_dependency
from agentsuite_llm_gateway.deps import Deps
from agentsuite_llm_gateway.uow import GatewayUow


def _open(request: Request, tenant: UUID) -> AbstractAsyncContextManager[GatewayUow]:
    deps: Deps = request.app.state.deps
    return deps.uow(tenant)


deps_of = app_state("deps", Deps)
AppDeps = Annotated[Deps, Depends(deps_of)]
# the management routes' body limit, the `max_request_bytes` setting (the OpenAI routes read
# their body themselves, to refuse it in OpenAI's shape)
Bounded = bounded(lambda request: deps_of(request).settings.max_request_bytes)
Uow = Annotated[GatewayUow, uow_dependency(_open)]
# for a route that admits an org-scoped token and confines itself to its org
OrgUow = Annotated[GatewayUow, uow_dependency(_open, org=True)]
