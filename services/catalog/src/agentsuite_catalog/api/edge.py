"""catalog's named dependencies, declared once on the kit's edge (`agentsuite_kit.edge`):
what a route needs arrives as a parameter, so every router is a module-level one."""

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Request

from agentsuite_catalog.deps import Deps
from agentsuite_catalog.uow import CatalogUow
from agentsuite_kit.auth import Principal
from agentsuite_kit.edge import app_state, gate, uow_dependency

# the largest request body a route reads (413 past it): a tool version carries two JSON
# Schemas, which real APIs make tens of kilobytes
MAX_BODY = 512 * 1024


def _open(request: Request, tenant: UUID) -> CatalogUow:
    deps: Deps = request.app.state.deps
    return deps.runtime.uow(tenant)


AppDeps = Annotated[Deps, Depends(app_state("deps", Deps))]
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
