"""catalog's named dependencies, declared once on the kit's edge (`agentsuite_kit.edge`):
what a route needs arrives as a parameter, so every router is a module-level one."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated
from uuid import UUID

from fastapi import Depends, Header, Request

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import app_state, gate, uow_dependency
from agentsuite_kit.errors import NotFound
from agentsuite_kit.tenants import readable

# the largest request body a route reads (413 past it): a tool version carries two JSON
# Schemas, which real APIs make tens of kilobytes
MAX_BODY = 512 * 1024


@asynccontextmanager
async def _open(request: Request, tenant: UUID) -> AsyncIterator[CatalogUow]:
    deps: Deps = request.app.state.deps
    async with deps.runtime.uow(tenant) as uow:
        # a deleted tenant's catalog is gone for its callers at once, though deprecating
        # what it published takes the retirement job's batches (handlers.tenants)
        if not readable(await uow.tenants.status(tenant)):
            raise NotFound("tenant_deleted", "the tenant is deleted")
        yield uow


AppDeps = Annotated[Deps, Depends(app_state("deps", Deps))]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="A retry with the same key and body gets the first response.",
    ),
]

"""The process's `Deps` (`app.build` puts it on the app)."""
Uow = Annotated[CatalogUow, uow_dependency(_open)]
"""The principal's tenant's unit of work, acting as the principal; the route commits it."""
Reader = Annotated[Principal, gate("tools:read")]
Writer = Annotated[Principal, gate("tools:write")]
AgentReader = Annotated[Principal, gate("agents:read")]
AgentWriter = Annotated[Principal, gate("agents:write")]
TaskReader = Annotated[Principal, gate("tasks:read")]
TaskWriter = Annotated[Principal, gate("tasks:write")]
TemplateReader = Annotated[Principal, gate("templates:read")]
TemplateWriter = Annotated[Principal, gate("templates:write")]
