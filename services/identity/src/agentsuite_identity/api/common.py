"""What identity's routes share beyond the kit's edge (`agentsuite_kit.edge`): its named
dependencies (the process's `Deps`, the tenant's `IdentityUow`), the platform-only gate,
an org-scoped token's reach, and a create in another tenant's unit of work.

No `from __future__ import annotations` here: FastAPI must resolve the dependencies these
aliases name.
"""

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request, Response

from agentsuite_identity.deps import Deps
from agentsuite_identity.uow import IdentityUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import Made, app_state, bounded, created, problems, uow_dependency
from agentsuite_kit.errors import Forbidden, NotFound
from agentsuite_kit.http.idempotency import idempotency
from agentsuite_kit.http.problems import field_problem

deps_of = app_state("deps", Deps)

AppDeps = Annotated[Deps, Depends(deps_of)]
"""The process's `Deps`, which `build()` puts on `app.state.deps`."""

Bounded = bounded(lambda request: deps_of(request).settings.max_request_bytes)
"""Every router's route class: a body over the `max_request_bytes` setting is a 413."""


def _open(request: Request, tenant: UUID) -> IdentityUow:
    return deps_of(request).runtime.uow(tenant)


Uow = Annotated[IdentityUow, uow_dependency(_open)]
"""The unit of work of the principal's tenant, acting as the principal (tenant-wide token)."""

OrgUow = Annotated[IdentityUow, uow_dependency(_open, org=True)]
"""The same for a route that admits an org-scoped token and confines it itself."""


@asynccontextmanager
async def unit(deps: Deps, principal: Principal, tenant: UUID | None) -> AsyncIterator[IdentityUow]:
    """The unit of work of `tenant` (a platform route's, which names its tenant in the
    path; None: the platform's own rows), acting as `principal`."""
    with problems(principal):
        async with deps.runtime.uow(tenant) as uow:
            yield uow


async def create_in(
    deps: Deps,
    request: Request,
    principal: Principal,
    tenant: UUID | None,
    make: Callable[[IdentityUow], Awaitable[Made]],
) -> Response:
    """A create in `tenant`'s unit of work (not the principal's): `make` runs once per
    Idempotency-Key; a retry gets the stored 201."""
    async with unit(deps, principal, tenant) as uow:
        idem = await idempotency(request, uow.session, subject=principal.subject)
        if idem.replay is not None:
            return idem.replay
        body, version = await make(uow)
        return await created(idem, uow, body, version=version)


def platform_only(
    principal: Principal,
    detail: str = "This route is for platform principals.",
    code: str = "platform_only",
) -> Principal:
    """`require(..., platform=True)` admits tenant principals too, and a tenant owner's `*`
    matches platform capabilities: platform routes also refuse any token with a tenant."""
    if principal.tenant_id is not None:
        raise Forbidden(code, detail)
    return principal


def in_scope(principal: Principal, org_id: UUID | None, detail: str) -> None:
    """An org-scoped token reaches its own org's objects only: any other org's is not
    found to it, as another tenant's is (404)."""
    if not principal.reaches(org_id):
        raise NotFound("not_found", detail)


def org_named(principal: Principal, org_id: UUID | None, field: str = "org_id") -> None:
    """A body that names an org (None: the whole tenant) outside the token's scope."""
    if not principal.reaches(org_id):
        raise field_problem(
            403, "The token is scoped to another organization.", code="org_scope", field=field
        )
